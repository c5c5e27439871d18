// firebreak watch against the real engine: it restarts what turns unhealthy (or was already),
// keeps the evidence from before the restart, never touches what an operator or firebreak
// stopped or what is labelled firebreak.ignore=true, and stops cleanly on SIGTERM.
import { readdirSync, readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, unpackBundle } from './bundle-files.js';
import { REPO_ROOT, runCli } from './cli.js';
import { docker, inspectContainer, startContainer, useHarness } from './harness.js';
import {
  breakHealth,
  healthy,
  engineActions,
  healthContainer,
  runLabel,
  startWatch,
  waitForHealth,
  waitForLine,
} from './watch-helpers.js';

useHarness();

const bundles = (dir: string) => readdirSync(dir).filter((name) => name.endsWith('.tar.gz'));

describe('firebreak watch', () => {
  it('restarts a container that turns unhealthy while it runs, and its bundle holds the logs and health log from before', async () => {
    const label = runLabel();
    const evidence = tempDir();
    const container = await healthContainer(label);
    const before = await inspectContainer(container.id);
    const watch = await startWatch(['--label', label.flag, '--evidence-dir', evidence]);
    try {
      const since = new Date();
      await breakHealth(docker(), container.id);
      await waitForLine(watch, new RegExp(`${container.name}: recovery succeeded`));
      const after = await inspectContainer(container.id);
      expect(after.State.Health?.Status).toBe('healthy');
      expect(after.State.StartedAt).not.toBe(before.State.StartedAt);
      expect(await engineActions(docker(), container.id, since)).toContain('restart');
    } finally {
      watch.kill('SIGTERM');
    }
    const result = await watch.done;
    expect(result.code, result.stderr).toBe(0);
    const [bundle] = bundles(evidence);
    const bag = unpackBundle(join(evidence, bundle!));
    expect(bag.json('data/run.json').status).toBe('succeeded');
    // The health log the engine kept before the restart: the failing probe of the removed file.
    const inspect = bag.json(`data/targets/${container.name}/inspect.json`);
    expect(inspect.State.Health.Status).toBe('unhealthy');
    expect(bag.read('data/journal.ndjson')).toContain('run started');
  });

  it('recovers a container that was already unhealthy when it started', async () => {
    const label = runLabel();
    const evidence = tempDir();
    const container = await healthContainer(label);
    await breakHealth(docker(), container.id);
    const since = new Date();
    const watch = await startWatch(['--label', label.flag, '--evidence-dir', evidence, '--log-format', 'json']);
    try {
      await waitForLine(watch, new RegExp(`${container.name}: unhealthy when listed; recovering`));
      await waitForLine(watch, new RegExp(`${container.name}: recovery succeeded`));
      await waitForHealth(docker(), container.id, 'healthy');
      expect(await engineActions(docker(), container.id, since)).toContain('restart');
    } finally {
      watch.kill('SIGTERM');
    }
    const result = await watch.done;
    expect(result.code).toBe(0);
    expect(bundles(evidence)).toHaveLength(1);
    // --log-format json: every stdout line is a watch-event document, the recovery's names its bundle.
    const validate = new Ajv2020({ strict: false }).compile(
      JSON.parse(readFileSync(join(REPO_ROOT, 'schemas/watch-event.v1.json'), 'utf8')),
    );
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, any>);
    for (const line of lines) expect(validate(line), JSON.stringify(validate.errors)).toBe(true);
    const ended = lines.find((line) => line.kind === 'recovery-ended');
    expect(ended).toMatchObject({ status: 'succeeded', container: { id: container.id, name: container.name } });
    expect(join(evidence, bundles(evidence)[0]!)).toBe(ended!.bundle.path);
  });

  it('leaves alone a container stopped with docker stop, one labelled firebreak.ignore=true and one quarantined by firebreak, while it recovers one that crashes', async () => {
    const label = runLabel();
    const evidence = tempDir();
    // Everything at once: on a loaded machine each step takes seconds.
    const [stopped, ignored, quarantined, watch] = await Promise.all([
      healthContainer(label),
      healthContainer(label, { labels: { 'firebreak.ignore': 'true' } }),
      healthContainer(label),
      startWatch(['--label', label.flag, '--evidence-dir', evidence, '--crash-count', '1']),
    ]);
    const since = new Date();
    let crashing: { id: string; name: string } | undefined;
    try {
      const [, , q, control] = await Promise.all([
        docker().getContainer(stopped.id).stop({ t: 1 }),
        breakHealth(docker(), ignored.id),
        runCli(['quarantine', quarantined.name, '--grace', '1s', '--evidence-dir', evidence]),
        // The control, started once watch listens: dies by itself (exit 3) a second after its
        // first start, and stays up after the next; --crash-count 1 acts on one death.
        startContainer({
          cmd: [
            'sh',
            '-c',
            'if [ -f /crashed ]; then touch /tmp/ok; exec sleep 3600; fi; touch /crashed /tmp/ok; sleep 1; exit 3',
          ],
          healthcheck: healthy.healthcheck,
          labels: { [label.key]: label.value },
        }),
      ]);
      crashing = control;
      expect(q.code, q.stderr).toBe(0);
      // The control proves the watcher was looking all along.
      await waitForLine(watch, new RegExp(`${control.name}: recovery succeeded`), 40_000);
      await waitForLine(watch, new RegExp(`${stopped.name}: skipped: `));
    } finally {
      watch.kill('SIGTERM');
    }
    const result = await watch.done;
    expect(result.code, result.stderr).toBe(0);
    expect(await engineActions(docker(), crashing!.id, since)).toContain('start');
    for (const c of [stopped, quarantined]) {
      expect((await inspectContainer(c.id)).State.Running, c.name).toBe(false);
      expect(await engineActions(docker(), c.id, since), c.name).not.toContain('start');
    }
    expect(await engineActions(docker(), ignored.id, since)).not.toContain('restart');
    expect((await inspectContainer(ignored.id)).State.Health?.Status).toBe('unhealthy');
    expect(result.stderr).not.toMatch(new RegExp(`${stopped.name}: .*recovering|${quarantined.name}: .*recovering`));
    expect(result.stderr).not.toMatch(new RegExp(`${ignored.name}: .*recovering`));
  }, 90_000);

  it('on SIGTERM during a recovery, aborts it after --grace, finalises its bundle and exits 0', async () => {
    const label = runLabel();
    const evidence = tempDir();
    // Heals only 20 s after a restart: the recovery is still waiting for healthy when the signal comes.
    const container = await healthContainer(label, {
      cmd: ['sh', '-c', 'if [ -f /started ]; then sleep 20; fi; touch /started /tmp/ok; exec sleep 3600'],
    });
    const watch = await startWatch(['--label', label.flag, '--evidence-dir', evidence, '--grace', '1s']);
    await breakHealth(docker(), container.id);
    await waitForLine(watch, new RegExp(`${container.name}: .*recovering`));
    // Past the evidence steps and the restart, into the wait for healthy.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    watch.kill('SIGTERM');
    const result = await watch.done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(new RegExp(`${container.name}: recovery aborted`));
    const [bundle] = bundles(evidence);
    const bag = unpackBundle(join(evidence, bundle!));
    expect(bag.json('data/run.json').status).toBe('aborted');
    expect(bag.sha256Check('manifest-sha256.txt')).not.toMatch(/FAILED/);
  });
});
