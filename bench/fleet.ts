// A fleet run against its slowest engine: the same containers on the shared engine and on a
// private one (test/setup/private-engine.ts), isolated by each engine alone and by one fleet run.
// A fleet works its engines in parallel, so its wall time should be near the slowest engine's.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { startPrivateEngine } from '../test/setup/private-engine.js';
import { docker, FIXTURE_IMAGE, firebreak, label, median, seconds, suffix } from './common.js';

const count = Number(process.env.BENCH_CONTAINERS ?? 10);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

async function makeContainers(engine: Docker, names: string[]): Promise<void> {
  for (const name of names) {
    const c = await engine.createContainer({
      name,
      Image: FIXTURE_IMAGE,
      Cmd: ['sleep', '3600'],
      Labels: label,
      HostConfig: { Init: true },
    });
    await c.start();
  }
}

async function reconnect(engine: Docker, names: string[]): Promise<void> {
  for (const name of names) await engine.getNetwork('bridge').connect({ Container: name });
}

export async function benchFleet(): Promise<void> {
  const spare = await startPrivateEngine();
  try {
    const names = Array.from({ length: count }, (_, i) => `fb-bench-${suffix()}-${i}`);
    await makeContainers(docker, names);
    await makeContainers(spare.docker, names);
    const work = mkdtempSync(join(tmpdir(), 'fb-bench-fleet-'));
    const fleet = join(work, 'fleet.yaml');
    writeFileSync(
      fleet,
      `engines:\n  - name: main\n    host: unix:///var/run/docker.sock\n  - name: spare\n    host: ${spare.host}\n`,
    );
    const isolate = async (extra: string[]) => {
      const r = await firebreak(['isolate', ...names, '--yes', '--evidence-dir', join(work, 'ev'), ...extra]);
      if (r.code !== 0) throw new Error(`firebreak isolate ${extra.join(' ')} failed: ${r.stderr}`);
    };
    const times = { main: [] as number[], spare: [] as number[], fleet: [] as number[] };
    for (let round = 0; round < rounds; round++) {
      times.main.push(await seconds(() => isolate(['--host', 'unix:///var/run/docker.sock'])));
      times.spare.push(await seconds(() => isolate(['--host', spare.host])));
      await reconnect(docker, names);
      await reconnect(spare.docker, names);
      times.fleet.push(await seconds(() => isolate(['--fleet', fleet])));
      await reconnect(docker, names);
      await reconnect(spare.docker, names);
    }
    const slowest = Math.max(median(times.main), median(times.spare));
    console.log(`\nisolate ${count} containers on each of 2 engines (median of ${rounds})`);
    console.log(`  main engine alone                            ${median(times.main).toFixed(3)} s`);
    console.log(`  private engine alone                         ${median(times.spare).toFixed(3)} s`);
    console.log(`  one fleet run on both                        ${median(times.fleet).toFixed(3)} s`);
    console.log(
      `  fleet / slowest engine ${(median(times.fleet) / slowest).toFixed(2)}x, fleet / sum ${(median(times.fleet) / (median(times.main) + median(times.spare))).toFixed(2)}x`,
    );
  } finally {
    await spare.remove();
  }
}
