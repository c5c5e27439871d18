// Start-up: what an on-call engineer waits for after Enter. `firebreak isolate` on one container,
// bundle written, printed beside `docker network disconnect` of the same container on the same
// network (the docker CLI's own start-up plus one API call), and beside bare `firebreak --version`.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker, FIXTURE_IMAGE, firebreak, label, median, run, seconds, suffix } from './common.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
/** DESIGN.md section 8 and issue 10: Enter to written bundle on one container. */
const target = 0.5;

export async function benchStartup(): Promise<void> {
  const network = (await docker.createNetwork({ Name: `fb-bench-${suffix()}`, Internal: true, Labels: label })).id;
  const name = `fb-bench-${suffix()}`;
  const c = await docker.createContainer({
    name,
    Image: FIXTURE_IMAGE,
    Cmd: ['sleep', '3600'],
    Labels: label,
    HostConfig: { Init: true, NetworkMode: network },
  });
  await c.start();
  const evidence = mkdtempSync(join(tmpdir(), 'fb-bench-'));
  const cli: number[] = [];
  const fb: number[] = [];
  const bare: number[] = [];
  for (let round = 0; round < rounds; round++) {
    cli.push(await seconds(() => run('docker', ['network', 'disconnect', network, name])));
    await docker.getNetwork(network).connect({ Container: name });
    fb.push(
      await seconds(async () => {
        const r = await firebreak(['isolate', name, '--evidence-dir', evidence]);
        if (r.code !== 0) throw new Error(`firebreak isolate failed: ${r.stderr}`);
      }),
    );
    await docker.getNetwork(network).connect({ Container: name });
    bare.push(await seconds(() => firebreak(['--version'])));
  }
  const rows: Array<[string, number]> = [
    ['docker network disconnect (1 container)', median(cli)],
    ['firebreak isolate (1 container, bundle incl.)', median(fb)],
    ['firebreak --version (start-up alone)', median(bare)],
  ];
  console.log(`\nstart-up, Enter to done (median of ${rounds})`);
  for (const [what, s] of rows) console.log(`  ${what.padEnd(46)} ${s.toFixed(3)} s`);
  const verdict = median(fb) <= target ? 'within' : 'over';
  console.log(`  firebreak isolate is ${verdict} the ${target} s target`);
}
