// A forensics run killed with SIGKILL mid-export (no finally runs, no bundle is finalised), then
// `firebreak bundle recover` as the responder would run it: the debris becomes a bundle that
// `firebreak bundle verify` accepts, and nothing is left behind.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleFromOutput, tempDir, unpackBundle } from './bundle-files.js';
import { runCli, startCli } from './cli.js';
import { inspectContainer, startContainer, useHarness, containerWithFile } from './harness.js';

useHarness();

/** Resolves once a spool file in `dir` has grown past `bytes`: the run is mid-way through a large artifact. */
async function spoolPast(dir: string, bytes: number, done: Promise<unknown>): Promise<void> {
  let finished = false;
  void done.then(() => (finished = true));
  for (const started = Date.now(); Date.now() - started < 30_000 && !finished;) {
    for (const name of readdirSync(dir).filter((n) => n.includes('.spool-'))) {
      try {
        if (statSync(join(dir, name)).size >= bytes) return;
      } catch {
        // Copied into the bundle and removed between readdir and stat.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no spool file grew past ${bytes} bytes before the run ended`);
}

describe('firebreak bundle recover after a forensics run was killed', () => {
  it.each(['gzip', 'none'])(
    'finalises the debris into an aborted bundle that verifies and leaves nothing behind (--compression %s)',
    async (compression) => {
      const container = await containerWithFile(32);
      const evidence = tempDir();
      const cli = startCli(['forensics', container.name, '--evidence-dir', evidence, '--compression', compression]);
      await spoolPast(evidence, 4 * 1024 * 1024, cli.done);
      cli.kill('SIGKILL');
      expect((await cli.done).signal).toBe('SIGKILL');
      const debris = readdirSync(evidence);
      expect(debris.filter((n) => n.endsWith('.partial'))).toHaveLength(1);
      expect(debris.some((n) => n.includes('.spool-'))).toBe(true);
      expect(debris.some((n) => n.endsWith('.journal'))).toBe(true);

      const recovered = await runCli(['bundle', 'recover', '--evidence-dir', evidence]);

      expect(recovered.code, recovered.stdout + recovered.stderr).toBe(0);
      const bundle = bundleFromOutput(recovered.stdout);
      for (const name of debris) expect(recovered.stdout).toContain(`removed ${join(evidence, name)}`);
      const verified = await runCli(['bundle', 'verify', bundle.path]);
      expect(verified.code, verified.stdout).toBe(0);
      const name = bundle.path.split('/').pop()!;
      expect(name).toBe(debris.find((n) => n.endsWith('.partial'))!.replace(/\.partial$/, ''));
      expect(readdirSync(evidence).sort()).toEqual([name, `${name}.sha256`]);

      const bag = unpackBundle(bundle.path);
      expect(bag.sha256Check('manifest-sha256.txt')).not.toMatch(/FAILED/);
      const run = bag.json('data/run.json');
      expect(run).toMatchObject({ schema: 'firebreak.run/v1', status: 'aborted', playbook: { name: 'forensics' } });
      const steps = run.targets[0].steps.map((s: { id: string; status: string }) => `${s.id}:${s.status}`);
      expect(steps.slice(0, 2)).toEqual(['top:succeeded', 'stats:succeeded']);
      expect(
        run.artifacts.some(
          (a: { path: string; incomplete?: string }) => a.path.startsWith('recovered/spool-') && a.incomplete,
        ),
      ).toBe(true);
      expect(bag.read('data/journal.ndjson')).toMatch(/"msg":"run started"/);
      if (compression === 'none') {
        // Uncompressed, the small artifacts reached the partial before the kill: they are kept whole.
        expect(run.recovered.entriesKept).toBeGreaterThan(0);
        expect(bag.json(`data/targets/${container.name}/inspect.json`).Id).toBe(
          (await inspectContainer(container.name)).Id,
        );
        expect(run.targets[0].id).toBe((await inspectContainer(container.name)).Id);
      }
      // A run, a recovery and a verify, each a CLI start: more than one engine call's worth of time.
    },
    120_000,
  );
});
