// Forensics of containers in every state a responder meets: each must give a true bundle and exit 0.
import { beforeEach, describe, expect, it } from 'vitest';
import { bundleFromOutput, tempDir, unpackBundle, type UnpackedBag } from './bundle-files.js';
import { runCli } from './cli.js';
import { docker, inspectContainer, startContainer, useHarness, waitForExit } from './harness.js';

useHarness();

let evidence: string;
beforeEach(() => {
  evidence = tempDir();
});

async function forensics(
  name: string,
  ...args: string[]
): Promise<{ bag: UnpackedBag; run: any; at: (file: string) => string }> {
  const result = await runCli(['forensics', name, '--evidence-dir', evidence, ...args]);
  expect(result.stderr).not.toMatch(/firebreak:/);
  expect(result.stdout).not.toMatch(/FAIL/);
  expect(result.code).toBe(0);
  const bag = unpackBundle(bundleFromOutput(result.stdout).path);
  return { bag, run: bag.json('data/run.json'), at: (file) => `data/targets/${name}/${file}` };
}

const stepOf = (run: any, id: string) => run.targets[0].steps.find((s: { id: string }) => s.id === id);

describe('firebreak forensics of containers in every state', () => {
  it('collects a fresh read-only container that changed no files: diff.json is [] and files.json says nothing was there', async () => {
    // No init: docker-init is added to the writable layer, and this container must have changed nothing.
    const c = await startContainer({ init: false, hostConfig: { ReadonlyRootfs: true } });
    // The engine's answer for such a container is null, which dockerode hands back as a Buffer.
    expect(String(await docker().getContainer(c.id).changes()).trim()).toBe('null');
    const { bag, run, at } = await forensics(c.name);
    expect(run.status).toBe('succeeded');
    expect(bag.json(at('diff.json'))).toEqual([]);
    expect(bag.json(at('files.json'))).toMatchObject({ collectedBytes: 0, collected: [], skipped: [] });
    expect(stepOf(run, 'diff').outputs).toEqual({ changes: 0, added: 0, changed: 0, deleted: 0 });
    expect(stepOf(run, 'files').outputs).toMatchObject({ collected: 0, skipped: 0 });
    expect(bag.sha256Check('manifest-sha256.txt')).not.toMatch(/FAILED/);
  });

  it('collects a stopped container: no processes to list, the rest as for a running one', async () => {
    const c = await startContainer({ cmd: ['sh', '-c', 'echo bye; exit 3'] });
    expect(await waitForExit(c.id)).toBe(3);
    const { bag, run, at } = await forensics(c.name, '--no-export');
    expect(stepOf(run, 'top').note).toMatch(/not running/);
    expect(bag.json(at('inspect.json')).State.ExitCode).toBe(3);
    expect(bag.read(at('logs.stdout.log'))).toMatch(/ bye\n$/);
    expect(Array.isArray(bag.json(at('diff.json')))).toBe(true);
  });

  it('collects a paused container and leaves it paused', async () => {
    const c = await startContainer();
    await docker().getContainer(c.id).pause();
    const { bag, at } = await forensics(c.name, '--no-export');
    expect(bag.json(at('top.json')).Processes.map((p: string[]) => p.at(-1))).toContain('sleep 3600');
    expect(bag.json(at('inspect.json')).State.Status).toBe('paused');
    expect((await inspectContainer(c.id)).State.Status).toBe('paused');
  });

  it('collects a TTY container, whose log is one stream', async () => {
    const c = await startContainer({ tty: true, cmd: ['sh', '-c', 'echo on-the-tty; exec sleep 3600'] });
    const { bag, at } = await forensics(c.name, '--no-export');
    expect(bag.json(at('inspect.json')).Config.Tty).toBe(true);
    expect(bag.json(at('top.json')).Processes.length).toBeGreaterThan(0);
  });

  it('collects a container with no network (NetworkMode none)', async () => {
    const c = await startContainer({ hostConfig: { NetworkMode: 'none' } });
    const { bag, run, at } = await forensics(c.name, '--no-export');
    expect(bag.json(at('networks.json')).networkMode).toBe('none');
    expect(stepOf(run, 'networks').status).toBe('succeeded');
    expect(bag.json(at('stats.json')).pids_stats.current).toBeGreaterThan(0);
  });
});
