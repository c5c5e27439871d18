import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir, unpackBundle } from './bundle-files.js';
import { runCli } from './cli.js';
import { docker, inspectContainer, startContainer, uniqueName, useHarness } from './harness.js';

useHarness();

const second = 1e9;
/** Healthy while /tmp/ready exists; the command creates it on every start. */
// A generous probe timeout: on a loaded host an exec can take over a second, and a slow probe counts as a failed one.
const readyCheck = { Test: ['CMD', 'test', '-f', '/tmp/ready'], Interval: second, Timeout: 10 * second, Retries: 1 };
const readyCmd = ['sh', '-c', 'echo booted; echo complaint >&2; touch /tmp/ready; exec sleep 3600'];
const neverHealthy = { Test: ['CMD', 'false'], Interval: second, Timeout: 10 * second, Retries: 1 };

let evidence: string;
beforeEach(() => {
  evidence = tempDir();
});

// ---- a webhook on loopback that the CLI child posts to ----------------------------------------

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers) server.closeAllConnections();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function webhook(): Promise<{ url: string; posts: any[] }> {
  const hook = { url: '', posts: [] as any[] };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      hook.posts.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  hook.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/secret-token-9a`;
  return hook;
}

// ---- images a quarantine commits are removed here ---------------------------------------------

const committedFrom: string[] = [];
afterAll(async () => {
  for (const id of committedFrom) {
    const images = await docker().listImages({ filters: JSON.stringify({ label: [`firebreak.container=${id}`] }) });
    for (const image of images)
      await docker()
        .getImage(image.Id)
        .remove({ force: true })
        .catch(() => {});
  }
});

// ---- waiting on the engine, bounded -------------------------------------------------------------

async function waitForHealth(name: string, status: string, ms = 45_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const health = (await inspectContainer(name)).State.Health?.Status;
    if (health === status) return;
    if (Date.now() > deadline) throw new Error(`${name} still ${health} after ${ms} ms, not ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A container that was healthy, then lost /tmp/ready: unhealthy until something restarts it. */
async function turnedUnhealthy(labels: Record<string, string> = {}) {
  const c = await startContainer({ cmd: readyCmd, healthcheck: readyCheck, labels });
  await waitForHealth(c.name, 'healthy');
  await docker()
    .getContainer(c.id)
    .exec({ Cmd: ['rm', '/tmp/ready'] })
    .then((e) => e.start({}));
  await waitForHealth(c.name, 'unhealthy');
  return c;
}

async function neverHealthyContainer(labels: Record<string, string> = {}) {
  const c = await startContainer({ healthcheck: neverHealthy, labels });
  await waitForHealth(c.name, 'unhealthy');
  return c;
}

/** The engine's own record of what happened to a container since `since`. */
async function actionsSince(id: string, since: Date): Promise<string[]> {
  const stream = await docker().getEvents({
    since: Math.floor(since.getTime() / 1000) - 1,
    until: Math.ceil(Date.now() / 1000) + 1,
    filters: JSON.stringify({ type: ['container'], container: [id] }),
  });
  const chunks: Buffer[] = [];
  for await (const chunk of stream as unknown as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks)
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l))
    .filter((e) => e.timeNano / 1e6 >= since.getTime())
    .map((e) => String(e.Action).split(':')[0]!);
}

const lifecycle = new Set(['start', 'restart', 'kill', 'stop', 'die', 'pause', 'unpause']);

async function recover(args: string[], env: Record<string, string | undefined> = {}) {
  const result = await runCli(['recover', ...args, '--evidence-dir', evidence, '--json'], {
    env: { FIREBREAK_WEBHOOK_URL: undefined, ...env },
    timeoutMs: 80_000,
  });
  let doc: any;
  try {
    doc = JSON.parse(result.stdout);
  } catch {
    throw new Error(`recover printed no JSON (exit ${result.code}): ${result.stdout}${result.stderr}`);
  }
  return { ...result, doc };
}

// Restarts and healthchecks take seconds each, more on a busy CI host: generous bounds, never speed claims.
describe('recover', { timeout: 120_000 }, () => {
  it('brings an unhealthy container back to healthy and keeps its logs and health log from before the restart', async () => {
    const c = await turnedUnhealthy();
    const before = await inspectContainer(c.name);
    const started = new Date();
    const { code, doc } = await recover([c.name, '--delay', '1s']);

    expect(code).toBe(0);
    expect(doc.schema).toBe('firebreak.recover/v1');
    expect(doc.containers[0]).toMatchObject({
      name: c.name,
      status: 'succeeded',
      before: { state: 'running', health: 'unhealthy' },
      after: { state: 'running', health: 'healthy' },
      attempts: 1,
      delaysMs: [],
    });
    // The engine's view: restarted once, healthy now.
    const after = await inspectContainer(c.name);
    expect(after.State.Health?.Status).toBe('healthy');
    expect(after.State.StartedAt).not.toBe(before.State.StartedAt);
    expect(await actionsSince(c.id, started)).toContain('restart');

    const bag = unpackBundle(doc.containers[0].bundle);
    const dir = `data/targets/${c.name}`;
    expect(bag.read(`${dir}/logs.stdout.log`)).toContain('booted');
    expect(bag.read(`${dir}/logs.stderr.log`)).toContain('complaint');
    const kept = bag.json(`${dir}/inspect.json`);
    // Taken before the restart: the failing probes that explain it are in the bundle.
    expect(kept.State.Health.Status).toBe('unhealthy');
    expect(kept.State.Health.Log.some((probe: any) => probe.ExitCode !== 0)).toBe(true);
    expect(kept.State.StartedAt).toBe(before.State.StartedAt);
  });

  it('exhausts its retries with the delays asked for, alerts the webhook and exits 1', async () => {
    const c = await neverHealthyContainer();
    const hook = await webhook();
    const started = new Date();
    const { code, doc, stdout, stderr } = await recover(
      [c.name, '--retries', '2', '--delay', '1s', '--backoff', 'exponential', '--health-timeout', '20s'],
      { FIREBREAK_WEBHOOK_URL: hook.url },
    );

    expect(code).toBe(1);
    expect(doc.containers[0]).toMatchObject({ status: 'failed', attempts: 3, delaysMs: [1000, 2000] });
    // The waits as they happened, from run.json: the end of one attempt to the start of the next.
    const run = unpackBundle(doc.containers[0].bundle).json('data/run.json');
    const group = run.targets[0].steps.find((s: any) => s.id === 'recover');
    expect(group.tries).toHaveLength(3);
    const gaps = [0, 1].map((i) => Date.parse(group.tries[i + 1].startedAt) - Date.parse(group.tries[i].endedAt));
    expect(gaps[0]).toBeGreaterThanOrEqual(990);
    expect(gaps[0]).toBeLessThan(2500);
    expect(gaps[1]).toBeGreaterThanOrEqual(1990);
    expect(gaps[1]).toBeLessThan(3500);
    // Restarted three times, by the engine's own account.
    expect((await actionsSince(c.id, started)).filter((a) => a === 'restart')).toHaveLength(3);

    expect(hook.posts).toHaveLength(1);
    expect(hook.posts[0].text).toContain(`could not recover ${c.name}`);
    // The webhook's secret path stays out of the output and the bundle.
    expect(stdout + stderr).not.toContain('secret-token-9a');
    expect(JSON.stringify(run)).not.toContain('secret-token-9a');
  });

  it('stops instead of restarting with --action stop', async () => {
    const c = await turnedUnhealthy();
    const started = new Date();
    const { code, doc } = await recover([c.name, '--action', 'stop', '--grace', '1s']);
    expect(code).toBe(0);
    expect(doc.containers[0]).toMatchObject({ status: 'succeeded', action: 'stop', after: { state: 'exited' } });
    expect((await inspectContainer(c.name)).State.Running).toBe(false);
    const actions = await actionsSince(c.id, started);
    expect(actions).toContain('stop');
    expect(actions).not.toContain('start');
  });

  it('quarantines a container it could not recover with --quarantine-on-failure', async () => {
    const c = await neverHealthyContainer();
    committedFrom.push(c.id);
    const { code, doc } = await recover([c.name, '--retries', '0', '--quarantine-on-failure', '--grace', '1s']);
    expect(code).toBe(1);
    expect(doc.containers[0]).toMatchObject({ status: 'failed', attempts: 1, after: { state: 'exited' } });
    const after = await inspectContainer(c.name);
    expect(after.State.Running).toBe(false);
    // The engine writes "no restart policy" as '' or 'no'; quarantine leaves it at that.
    expect(['', 'no']).toContain(after.HostConfig.RestartPolicy?.Name);
    const images = await docker().listImages({ filters: JSON.stringify({ label: [`firebreak.container=${c.id}`] }) });
    expect(images).toHaveLength(1);
    // firebreak holds it now: the hold is in the evidence folder, keyed by engine and container id.
    const [engineDir] = readdirSync(join(evidence, 'holds'));
    expect(readdirSync(join(evidence, 'holds', engineDir!))).toEqual([`${c.id}.quarantined.json`]);
  });
});

describe('recover --unhealthy', () => {
  it('recovers the unhealthy and leaves alone what an operator stopped, what is labelled ignore, and what firebreak quarantined', async () => {
    const batch = { 'firebreak.test.batch': uniqueName('b') };
    const filter = `label=firebreak.test.batch=${batch['firebreak.test.batch']}`;
    const [stopped, ignored, quarantined, sick] = await Promise.all([
      turnedUnhealthy(batch),
      turnedUnhealthy({ ...batch, 'firebreak.ignore': 'true' }),
      turnedUnhealthy(batch),
      turnedUnhealthy(batch),
    ]);
    committedFrom.push(quarantined.id);
    await docker().getContainer(stopped.id).stop({ t: 1 });
    const q = await runCli(['quarantine', quarantined.name, '--grace', '1s', '--evidence-dir', evidence]);
    expect(q.code).toBe(0);
    const before = Object.fromEntries(
      await Promise.all(
        [stopped, ignored, quarantined].map(async (c) => [c.id, (await inspectContainer(c.id)).State.StartedAt]),
      ),
    );
    const started = new Date();

    const { code, doc, stdout } = await recover(['--unhealthy', '--filter', filter, '--delay', '1s']);

    expect(code).toBe(0);
    const byName = Object.fromEntries(doc.containers.map((c: any) => [c.name, c]));
    expect(byName[sick.name]).toMatchObject({ status: 'succeeded', after: { health: 'healthy' } });
    expect(byName[stopped.name]).toMatchObject({ status: 'skipped' });
    // The engine keeps only its last 256 events: on a busy shared engine the stop may be gone by
    // now, and a stop it cannot tell from a crash is left alone too (stopVerdict's unit tests read the events).
    expect(byName[stopped.name].reason).toMatch(/^stopped by docker stop|the engine no longer remembers how/);
    expect(byName[ignored.name].reason).toBe('labelled firebreak.ignore=true');
    expect(byName[quarantined.name].reason).toMatch(/^quarantined by firebreak/);
    // The engine's view: none of the three was started or restarted.
    for (const c of [stopped, ignored, quarantined]) {
      // A running container's own healthchecks log exec events; only a change of state counts here.
      const changes = (await actionsSince(c.id, started)).filter((a) => lifecycle.has(a));
      expect(changes).toEqual([]);
      expect((await inspectContainer(c.id)).State.StartedAt).toBe(before[c.id]);
    }
    expect((await inspectContainer(stopped.id)).State.Running).toBe(false);
    expect((await inspectContainer(quarantined.id)).State.Running).toBe(false);
    expect(stdout).not.toContain('secret');
  }, 150_000);
});
