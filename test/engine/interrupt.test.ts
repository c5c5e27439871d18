// What happens to a forensics run when the operator stops it, or a target disappears under it:
// the bundle is still finalised and verifiable, and it says what was and was not collected.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { bundleFromOutput, tempDir, unpackBundle } from './bundle-files.js';
import { startCli } from './cli.js';
import { docker, inspectContainer, startContainer, useHarness, containerWithFile } from './harness.js';

useHarness();

let evidence: string;
beforeEach(() => {
  evidence = tempDir();
});

/** Resolves once a spool file (an artifact of unknown length on its way in) has grown past `bytes`. */
async function spoolPast(bytes: number, done: Promise<unknown>): Promise<void> {
  let finished = false;
  void done.then(() => (finished = true));
  for (const started = Date.now(); Date.now() - started < 30_000 && !finished;) {
    for (const name of readdirSync(evidence).filter((n) => n.includes('.spool-'))) {
      try {
        if (statSync(join(evidence, name)).size >= bytes) return;
      } catch {
        // Removed between readdir and stat: that artifact went into the bundle.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no spool file grew past ${bytes} bytes before the run ended`);
}

const ids = (steps: Array<{ id: string; status: string }>) => steps.map((s) => `${s.id}:${s.status}`);

describe('interrupting firebreak forensics', () => {
  it('finalises a bundle that verifies, with status aborted, and exits 130 on Ctrl-C during the export', async () => {
    const container = await containerWithFile(512);
    const cli = startCli(['forensics', container.name, '--evidence-dir', evidence]);
    await spoolPast(32 * 1024 * 1024, cli.done);
    cli.kill('SIGINT');
    const result = await cli.done;

    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(/SIGINT: stopping; finalising the evidence bundle/);
    const bundle = bundleFromOutput(result.stdout);
    const bag = unpackBundle(bundle.path);
    expect(bag.sha256Check('manifest-sha256.txt')).not.toMatch(/FAILED/);
    expect(bag.sha256Check('tagmanifest-sha256.txt')).not.toMatch(/FAILED/);
    const run = bag.json('data/run.json');
    expect(run.status).toBe('aborted');
    expect(ids(run.targets[0].steps)).toEqual([
      'top:succeeded',
      'stats:succeeded',
      'inspect:succeeded',
      'networks:succeeded',
      'logs:succeeded',
      'diff:succeeded',
      'files:succeeded',
      'image:succeeded',
      'export:aborted',
    ]);
    // What was read before the interrupt is kept; the half-read export is not passed off as whole.
    expect(bag.json(`data/targets/${container.name}/top.json`).Processes.length).toBeGreaterThan(0);
    expect(run.artifacts.map((a: { path: string }) => a.path)).not.toContain(
      `targets/${container.name}/filesystem.tar`,
    );
    // No spool file, no .partial, no journal left behind: only the bundle and its checksum.
    expect(readdirSync(evidence).sort()).toEqual(
      [bundle.path.split('/').pop(), `${bundle.path.split('/').pop()}.sha256`].sort(),
    );
  });

  it('unpauses a --pause target and finalises the bundle when SIGTERM arrives', async () => {
    const container = await containerWithFile(512);
    const cli = startCli(['forensics', container.name, '--pause', '--compression', 'none', '--evidence-dir', evidence]);
    await spoolPast(32 * 1024 * 1024, cli.done);
    cli.kill('SIGTERM');
    const result = await cli.done;

    expect(result.code).toBe(130);
    const bag = unpackBundle(bundleFromOutput(result.stdout).path);
    expect(bag.sha256Check('manifest-sha256.txt')).not.toMatch(/FAILED/);
    const run = bag.json('data/run.json');
    expect(run.status).toBe('aborted');
    expect(run.targets[0].steps.at(-1)).toMatchObject({ id: 'thaw', status: 'succeeded' });
    expect((await inspectContainer(container.name)).State).toMatchObject({ Running: true, Paused: false });
  });
});

describe('a target removed during forensics', () => {
  it("fails that target's remaining steps with the engine's message while the other target completes (exit 1)", async () => {
    // The victim's added 200 MiB file fits the files cap, so evidence.files is slow enough to act in.
    const victim = await containerWithFile(200, '/payload');
    const bystander = await startContainer();
    const cli = startCli(['forensics', victim.name, bystander.name, '--evidence-dir', evidence]);
    await spoolPast(16 * 1024 * 1024, cli.done);
    await docker().getContainer(victim.id).remove({ force: true });
    const result = await cli.done;

    expect(result.code).toBe(1);
    const bag = unpackBundle(bundleFromOutput(result.stdout).path);
    expect(bag.sha256Check('manifest-sha256.txt')).not.toMatch(/FAILED/);
    const run = bag.json('data/run.json');
    expect(run.status).toBe('failed');
    const gone = run.targets.find((t: { name: string }) => t.name === victim.name);
    const other = run.targets.find((t: { name: string }) => t.name === bystander.name);
    expect(gone.status).toBe('failed');
    const exported = gone.steps.find((s: { id: string }) => s.id === 'export');
    expect(exported.status).toBe('failed');
    expect(exported.error).toMatch(/engine said: No such container/);
    // Everything read before the removal is in the bundle.
    expect(bag.json(`data/targets/${victim.name}/diff.json`)).toContainEqual({ path: '/payload', kind: 'added' });
    expect(other.status).toBe('succeeded');
    expect(other.steps.every((s: { status: string }) => s.status === 'succeeded')).toBe(true);
  });
});
