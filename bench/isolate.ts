// Isolating N containers: one firebreak command against a sequential docker CLI loop
// (inspect for the record, then network disconnect per network), the on-call runbook it replaces.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker, FIXTURE_IMAGE, firebreak, label, median, report, run, seconds, suffix } from './common.js';

const count = Number(process.env.BENCH_CONTAINERS ?? 30);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

async function makeContainers(networks: string[]): Promise<string[]> {
  const names = Array.from({ length: count }, (_, i) => `fb-bench-${suffix()}-${i}`);
  await Promise.all(
    names.map(async (name) => {
      const c = await docker.createContainer({
        name,
        Image: FIXTURE_IMAGE,
        Cmd: ['sleep', '3600'],
        Labels: label,
        HostConfig: { Init: true, NetworkMode: networks[0] },
      });
      await docker.getNetwork(networks[1]!).connect({ Container: c.id });
      await c.start();
    }),
  );
  return names;
}

async function reconnect(names: string[], networks: string[]): Promise<void> {
  await Promise.all(names.flatMap((name) => networks.map((n) => docker.getNetwork(n).connect({ Container: name }))));
}

export async function benchIsolate(): Promise<void> {
  const networks: string[] = [];
  for (let i = 0; i < 2; i++) {
    const n = await docker.createNetwork({ Name: `fb-bench-${suffix()}`, Internal: true, Labels: label });
    networks.push(n.id);
  }
  const names = await makeContainers(networks);
  const evidence = mkdtempSync(join(tmpdir(), 'fb-bench-'));
  const cli: number[] = [];
  const fb: number[] = [];
  const fbOne: number[] = [];
  for (let round = 0; round < rounds; round++) {
    cli.push(
      await seconds(async () => {
        for (const name of names) {
          await run('docker', ['inspect', name]);
          for (const n of networks) await run('docker', ['network', 'disconnect', n, name]);
        }
      }),
    );
    await reconnect(names, networks);
    fb.push(
      await seconds(async () => {
        const r = await firebreak([
          'isolate',
          ...names,
          '--yes',
          '--evidence-dir',
          evidence,
          '--concurrency',
          String(process.env.BENCH_CONCURRENCY ?? 8),
        ]);
        if (r.code !== 0) throw new Error(`firebreak isolate failed: ${r.stderr}`);
      }),
    );
    await reconnect(names, networks);
    fbOne.push(
      await seconds(async () => {
        const r = await firebreak(['isolate', names[0]!, '--evidence-dir', evidence]);
        if (r.code !== 0) throw new Error(`firebreak isolate failed: ${r.stderr}`);
      }),
    );
    await reconnect([names[0]!], networks);
  }
  report(
    `isolate ${count} containers on 2 networks (median of ${rounds})`,
    [
      ['docker CLI loop (inspect + disconnect each)', median(cli)],
      ['firebreak isolate (one command, bundle incl.)', median(fb)],
    ],
    'docker CLI loop (inspect + disconnect each)',
  );
  console.log(`  firebreak isolate of 1 container, Enter to bundle: ${median(fbOne).toFixed(3)} s (target 0.6 s)`);
}
