import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { bundleFromOutput, tempDir, unpackBundle } from './bundle-files.js';
import { runCli } from './cli.js';
import { docker, inspectContainer, startContainer, uniqueName, useHarness } from './harness.js';

useHarness();

let evidence: string;
beforeEach(() => {
  evidence = tempDir();
});

const statusOf = async (name: string) => (await inspectContainer(name)).State.Status;
const firebreak = (...args: string[]) => runCli([...args, '--evidence-dir', evidence]);

describe('firebreak pause and unpause', () => {
  it('freezes a running container and thaws it again', async () => {
    const c = await startContainer();
    const paused = await firebreak('pause', c.name);
    expect(paused.stderr).not.toMatch(/firebreak:/);
    expect(paused.code).toBe(0);
    expect(await statusOf(c.name)).toBe('paused');

    const thawed = await firebreak('unpause', c.name);
    expect(thawed.code).toBe(0);
    expect(await statusOf(c.name)).toBe('running');
  });

  it('records the state before the pause as undo data', async () => {
    const c = await startContainer();
    const result = await firebreak('pause', c.name);
    const run = unpackBundle(bundleFromOutput(result.stdout).path).json('data/run.json');
    const step = run.targets[0].steps.find((s: { id: string }) => s.id === 'pause');
    expect(step).toMatchObject({ status: 'succeeded', changed: true, undo: { previous: 'running' } });
  });

  it('succeeds on a paused container and says it was already paused', async () => {
    const c = await startContainer();
    await firebreak('pause', c.name);
    const again = await firebreak('pause', c.name);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/pause \(no change\): already paused/);
    expect(await statusOf(c.name)).toBe('paused');
  });

  it('succeeds on a running container with unpause and says it was not paused', async () => {
    const c = await startContainer();
    const result = await firebreak('unpause', c.name);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/unpause \(no change\): not paused \(running\)/);
  });

  it('fails clearly on a stopped container, which cannot be paused', async () => {
    const c = await startContainer({ start: false });
    const result = await firebreak('pause', c.name);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /FAIL pause: container\.pause on \S+: cannot pause a container that is created; only a running one/,
    );
  });

  it('changes nothing with --dry-run', async () => {
    const c = await startContainer();
    const before = await inspectContainer(c.name);
    const result = await firebreak('pause', c.name, '--dry-run');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /pause \[container\.pause\] pause \(freeze\) every process of the container \(changes state\)/,
    );
    expect(await inspectContainer(c.name)).toEqual(before);
  });

  it('pauses every container a --filter selects', async () => {
    const group = uniqueName('group');
    const a = await startContainer({ labels: { 'firebreak.pause-group': group } });
    const b = await startContainer({ labels: { 'firebreak.pause-group': group } });
    const result = await firebreak('pause', '--filter', `label=firebreak.pause-group=${group}`);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/2 containers matched/);
    expect([await statusOf(a.name), await statusOf(b.name)]).toEqual(['paused', 'paused']);
  });
});

describe('container.restart', () => {
  it('stops and starts the container again, a paused one included', async () => {
    const c = await startContainer();
    const before = await inspectContainer(c.name);
    await docker().getContainer(c.id).pause();
    const file = join(evidence, 'restart.yaml');
    writeFileSync(
      file,
      'name: restart\nsteps:\n  - id: restart\n    uses: container.restart\n    with: { grace: 2s }\n',
    );
    const result = await firebreak('run', file, c.name);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/ok {3}restart: unpaused, then restarted \(was paused\); running since /);
    const after = await inspectContainer(c.name);
    expect(after.State.Status).toBe('running');
    expect(after.State.StartedAt).not.toBe(before.State.StartedAt);
    expect(after.State.Pid).not.toBe(before.State.Pid);
  });
});
