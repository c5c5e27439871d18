// The adapter against the real engine: every call takes the step's signal and stops when it aborts,
// and no answer reaches the steps as a Buffer.
import { beforeAll, describe, expect, it } from 'vitest';
import { openEngine, type Engine } from '../../src/docker/index.js';
import { createNetwork, FIXTURE_IMAGE, inspectContainer, startContainer, useHarness } from './harness.js';

useHarness();

let engine: Engine;
beforeAll(async () => {
  engine = await openEngine();
});

/** A signal already aborted with a reason of its own, as a step's is after its timeout or Ctrl-C. */
function aborted(): { signal: AbortSignal; reason: Error } {
  const controller = new AbortController();
  const reason = new Error('step timed out');
  controller.abort(reason);
  return { signal: controller.signal, reason };
}

describe('the adapter and the abort signal', () => {
  /** Every adapter call, on a running container attached to a test network. */
  async function everyCall(): Promise<{
    c: { id: string };
    calls: Array<[string, (signal: AbortSignal) => Promise<unknown>]>;
  }> {
    const network = await createNetwork();
    const c = await startContainer({ networks: [{ name: network.name }] });
    const attachment = (await engine.containers.inspect(c.id)).networks[0]!;
    const calls: Array<[string, (signal: AbortSignal) => Promise<unknown>]> = [
      ['containers.inspect', (s) => engine.containers.inspect(c.id, s)],
      ['containers.list', (s) => engine.containers.list({}, true, s)],
      ['containers.top', (s) => engine.containers.top(c.id, s)],
      ['containers.stats', (s) => engine.containers.stats(c.id, s)],
      ['containers.diff', (s) => engine.containers.diff(c.id, s)],
      ['containers.pause', (s) => engine.containers.pause(c.id, s)],
      ['containers.stop', (s) => engine.containers.stop(c.id, 1, s)],
      ['containers.restart', (s) => engine.containers.restart(c.id, 1, s)],
      ['containers.start', (s) => engine.containers.start(c.id, s)],
      ['containers.update', (s) => engine.containers.update(c.id, { pidsLimit: 50 }, s)],
      [
        'containers.setRestartPolicy',
        (s) => engine.containers.setRestartPolicy(c.id, { name: 'always', maximumRetryCount: 0 }, s),
      ],
      ['containers.commit', (s) => engine.containers.commit(c.id, { repo: 'fb-test/never', tag: 'committed' }, s)],
      ['containers.deaths', (s) => engine.containers.deaths(c.id, s)],
      ['networks.inspect', (s) => engine.networks.inspect(network.id, s)],
      ['networks.disconnect', (s) => engine.networks.disconnect(network.id, c.id, s)],
      [
        'networks.connect',
        (s) => engine.networks.connect(c.id, { ...attachment, network: 'bridge', networkId: 'bridge' }, false, s),
      ],
      ['images.inspect', (s) => engine.images.inspect(FIXTURE_IMAGE, s)],
      ['images.history', (s) => engine.images.history(FIXTURE_IMAGE, s)],
      ['images.list', (s) => engine.images.list({}, s)],
      ['images.idOf', (s) => engine.images.idOf(FIXTURE_IMAGE, s)],
      ['images.tag', (s) => engine.images.tag(FIXTURE_IMAGE, 'fb-test/never', 'tagged', s)],
      ['system.version', (s) => engine.system.version(s)],
      ['system.capacity', (s) => engine.system.capacity(s)],
    ];
    return { c, calls };
  }

  /** Nothing reached the engine: still running, on its one network, with its limits and policy, no new image. */
  async function expectUntouched(id: string): Promise<void> {
    const info = await inspectContainer(id);
    expect(info.State.Status).toBe('running');
    expect(info.State.StartedAt).toBe(startedAt.get(id));
    expect(Object.keys(info.NetworkSettings.Networks)).toHaveLength(1);
    expect(Object.keys(info.NetworkSettings.Networks)).not.toContain('bridge');
    expect(info.HostConfig.PidsLimit ?? 0).toBe(0);
    expect(info.HostConfig.RestartPolicy?.Name ?? '').toBe('');
    await expect(engine.images.idOf('fb-test/never:tagged')).resolves.toBeUndefined();
    await expect(engine.images.idOf('fb-test/never:committed')).resolves.toBeUndefined();
  }
  const startedAt = new Map<string, string>();

  it('rejects every call at once with the reason of an already-aborted signal', async () => {
    const { c, calls } = await everyCall();
    startedAt.set(c.id, (await inspectContainer(c.id)).State.StartedAt);
    const { signal, reason } = aborted();
    for (const [name, call] of calls) await expect(call(signal), name).rejects.toBe(reason);
    await expectUntouched(c.id);
  });

  it('passes the signal on to the request: aborted as soon as it is sent, no call reaches the engine', async () => {
    const { c, calls } = await everyCall();
    startedAt.set(c.id, (await inspectContainer(c.id)).State.StartedAt);
    for (const [name, call] of calls) {
      const controller = new AbortController();
      const reason = new Error(`abort ${name}`);
      const pending = call(controller.signal);
      // The request is made on a later tick (docker-modem resolves the socket path first): an
      // adapter that did not pass the signal on would send it anyway, and the engine would act.
      controller.abort(reason);
      await expect(pending, name).rejects.toBe(reason);
    }
    await expectUntouched(c.id);
  });

  it('aborts a stop in flight: the call rejects when the signal fires, not when the grace is over', async () => {
    // Without an init, sleep is PID 1 and ignores SIGTERM: the engine would wait out the whole grace.
    const c = await startContainer({ init: false });
    const controller = new AbortController();
    const reason = new Error('interrupted');
    setTimeout(() => controller.abort(reason), 300);
    const started = Date.now();
    await expect(engine.containers.stop(c.id, 30, controller.signal)).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('the shape of what the adapter hands up', () => {
  it('reads the null changes of an untouched read-only container as an empty list', async () => {
    const c = await startContainer({ init: false, hostConfig: { ReadonlyRootfs: true } });
    expect(await engine.containers.diff(c.id)).toEqual([]);
  });

  it('gives typed values, with the raw documents as JSON values rather than Buffers', async () => {
    const c = await startContainer();
    const top = await engine.containers.top(c.id);
    expect(top.titles).toContain('PID');
    expect(top.processes.map((p) => p.at(-1))).toContain('sleep 3600');
    expect(Buffer.isBuffer(top.raw)).toBe(false);
    const stats = await engine.containers.stats(c.id);
    expect(stats.pids).toBeGreaterThan(0);
    expect(Buffer.isBuffer(stats.raw)).toBe(false);
    const image = await engine.images.inspect(FIXTURE_IMAGE);
    expect(image.id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((image.raw as { Id: string }).Id).toBe(image.id);
    const history = await engine.images.history(FIXTURE_IMAGE);
    expect(history.entries).toBe((history.raw as unknown[]).length);
    expect(history.entries).toBeGreaterThan(0);
    const version = await engine.system.version();
    expect(version.apiVersion).toMatch(/^\d+\.\d+$/);
  });
});
