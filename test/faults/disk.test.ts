// The evidence disk fills in the middle of a filesystem export (the 0-byte and 4-KiB levels are in
// containment.test.ts). The export is lost, but nothing else may be: the pause is undone, the
// containment after it still happens and is reported, the error says which folder lacked how much,
// and what is left in that folder never passes for a bundle.
import { execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { bundleFromOutput, tempDir, unpackBundle } from '../engine/bundle-files.js';
import { runCli } from '../engine/cli.js';
import { createNetwork, docker, inspectContainer, startContainer, useHarness } from '../engine/harness.js';
import { trial } from './ledger.js';

useHarness();

const mounts: string[] = [];
afterAll(() => {
  for (const mount of mounts) execFileSync('umount', ['-l', mount]);
});

/** An 8 MiB tmpfs of our own: room for the small artifacts, not for a 24 MiB filesystem. */
function smallDisk(): string {
  const mount = tempDir('firebreak-8m-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mount]);
  mounts.push(mount);
  return join(mount, 'evidence');
}

let fallback: string;
beforeEach(() => {
  fallback = tempDir('firebreak-fallback-');
});

/** A container whose filesystem is 24 MiB more than its image: random bytes, so gzip cannot shrink them. */
async function bigContainer(opts: { network?: string } = {}) {
  const container = await startContainer({
    cmd: ['sh', '-c', 'dd if=/dev/urandom of=/big bs=1M count=24 2>/dev/null; touch /ready; exec sleep 3600'],
    ...(opts.network && { networks: [{ name: opts.network }] }),
  });
  for (const deadline = Date.now() + 30_000; ;) {
    const ready = await docker()
      .getContainer(container.id)
      .getArchive({ path: '/ready' })
      .then(
        () => true,
        () => false,
      );
    if (ready) return container;
    if (Date.now() > deadline) throw new Error(`${container.name} did not write its 24 MiB in 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The guarantees every mid-export level shares; returns the fallback bundle's run.json. */
async function expectFallbackOnly(result: { code: number | null; stdout: string; stderr: string }, dir: string) {
  expect(result.code, result.stderr).toBe(1);
  expect(result.stdout).toContain(`EVIDENCE FOLDER UNUSABLE: ${dir} could not take the bundle`);
  // The folder and the bytes it lacked: more than it had free, or the message would make no sense.
  const said = new RegExp(
    `evidence folder ${dir} could not take the bundle: .*ENOSPC.*needs about (\\d+) bytes \\((\\d+) bytes free\\)`,
  ).exec(result.stderr);
  expect(said, result.stderr).not.toBeNull();
  expect(Number(said![1])).toBeGreaterThan(Number(said![2]));

  const bundle = bundleFromOutput(result.stdout);
  expect(bundle.path.startsWith(fallback)).toBe(true);
  const verified = await runCli(['bundle', 'verify', bundle.path]);
  expect(verified.code, verified.stdout + verified.stderr).toBe(0);
  const bag = unpackBundle(bundle.path);
  bag.sha256Check('manifest-sha256.txt');

  // Nothing cut short is left to pass for a bundle: no .tar or .tar.gz, no spool, journal or marker.
  expect(readdirSync(dir)).toEqual([]);
  return bag.json('data/run.json');
}

describe('an evidence disk that fills during the filesystem export', () => {
  it('forensics --pause thaws the container, loses only the export, and names the folder and the bytes it lacked', () =>
    trial('full-disk', 'mid-export (8 MiB tmpfs, 24 MiB export, forensics --pause)', async () => {
      const container = await bigContainer();
      const dir = smallDisk();

      // The changed-file copy is capped, so the export is the stream that meets the full disk.
      const result = await runCli(
        ['forensics', container.name, '--pause', '--files-max-bytes', '1m', '--evidence-dir', dir],
        { env: { FIREBREAK_FALLBACK_DIR: fallback } },
      );

      expect((await inspectContainer(container.id)).State.Paused).toBe(false);
      expect(result.stdout).toMatch(/ok {3}thaw: unpaused/);
      expect(result.stdout).toMatch(
        /FAIL export \(continue-on-error\): evidence\.export on \S+: targets\/\S+\/filesystem\.tar not kept: the evidence folder .* cannot take it \(ENOSPC/,
      );
      const run = await expectFallbackOnly(result, dir);
      const step = (id: string) => run.targets[0].steps.find((s: { id: string }) => s.id === id);
      expect(step('export').status).toBe('failed');
      expect(step('thaw').status).toBe('succeeded');
      // A cut-off stream is never listed as an artifact with a hash of its first megabytes.
      expect(run.artifacts.map((a: { path: string }) => a.path)).not.toContain(
        `targets/${container.name}/filesystem.tar`,
      );
    }));

  it('a playbook that exports, then isolates and stops, still isolates and stops and says so on stdout', () =>
    trial('full-disk', 'mid-export (8 MiB tmpfs) before isolate and stop', async () => {
      const net = await createNetwork();
      const container = await bigContainer({ network: net.name });
      const dir = smallDisk();
      const playbook = join(tempDir(), 'export-then-contain.yaml');
      writeFileSync(
        playbook,
        [
          'name: export-then-contain',
          'description: The filesystem first, then cut the container off and stop it.',
          'steps:',
          '  - {id: inspect, uses: evidence.inspect, continue-on-error: true}',
          '  - {id: export, uses: evidence.export, continue-on-error: true}',
          '  - {id: disconnect, uses: network.disconnect}',
          '  - {id: stop, uses: container.stop, with: {grace: 1s}}',
          '  - {id: verify, uses: assert.stopped}',
          '',
        ].join('\n'),
      );

      const result = await runCli(['run', playbook, container.name, '--evidence-dir', dir], {
        env: { FIREBREAK_FALLBACK_DIR: fallback },
      });

      const after = await inspectContainer(container.id);
      expect(after.State.Running).toBe(false);
      expect(Object.keys(after.NetworkSettings.Networks)).toEqual([]);
      expect(result.stdout).toMatch(/ok {3}disconnect: disconnected from /);
      expect(result.stdout).toMatch(/ok {3}stop: stopped in /);
      expect(result.stdout).toMatch(/ok {3}verify: /);
      const run = await expectFallbackOnly(result, dir);
      const disconnect = run.targets[0].steps.find((s: { id: string }) => s.id === 'disconnect');
      expect(disconnect.undo.attachments.map((a: { network: string }) => a.network)).toEqual([net.name]);
    }));
});
