// Shared pieces of the benchmarks: an engine client, the fixture image, labelled objects that are
// always removed, and timing of firebreak against the docker CLI doing the same job in the same run.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { ensureFixtureImage, FIXTURE_IMAGE } from '../test/setup/fixture-image.js';

export const docker = new Docker();
export const run = promisify(execFile);
export const label = { 'firebreak.test': '1', 'firebreak.bench': '1' };
export { FIXTURE_IMAGE };

export async function prepare(): Promise<void> {
  await docker.ping();
  await ensureFixtureImage(docker);
}

export const suffix = () => randomBytes(3).toString('hex');

export async function removeBenchObjects(): Promise<void> {
  const containers = await docker.listContainers({
    all: true,
    filters: JSON.stringify({ label: ['firebreak.bench=1'] }),
  });
  await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true })));
  const networks = await docker.listNetworks({ filters: JSON.stringify({ label: ['firebreak.bench=1'] }) });
  for (const n of networks) {
    // The engine can still hold an endpoint of a container it is removing; ask once more.
    await docker
      .getNetwork(n.Id)
      .remove()
      .catch(async () => {
        await new Promise((r) => setTimeout(r, 1000));
        await docker
          .getNetwork(n.Id)
          .disconnect({ Container: '', Force: true })
          .catch(() => undefined);
        await docker
          .getNetwork(n.Id)
          .remove()
          .catch((e: Error) => console.error(`bench cleanup: ${e.message}`));
      });
  }
}

export async function seconds(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Runs the compiled CLI; resolves with its exit code and peak RSS (from /usr/bin/time when present). */
export function firebreak(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/run.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export function report(name: string, rows: Array<[string, number]>, baseline: string): void {
  const base = rows.find(([n]) => n === baseline)![1];
  console.log(`\n${name}`);
  for (const [n, s] of rows)
    console.log(`  ${n.padEnd(44)} ${s.toFixed(3)} s   ${(s / base).toFixed(2)}x of ${baseline}`);
}
