// Forensics: firebreak's bundle against the docker CLI runbook doing the same collection, on an
// idle small container and on one holding about 1 GiB of incompressible files, in both
// compression modes. Prints times, ratios and firebreak's peak RSS.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker, FIXTURE_IMAGE, label, median, report, seconds, suffix } from './common.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const bigMiB = Number(process.env.BENCH_BIG_MIB ?? 1024);

function sh(script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-o', 'pipefail', '-c', script], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}: ${script}`))));
  });
}

/** firebreak under /usr/bin/time, for its peak resident set. */
function firebreakMeasured(args: string[]): Promise<{ seconds: number; peakMiB: number }> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', '%M', process.execPath, 'bin/run.js', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
      if (code !== 0) return reject(new Error(`firebreak ${args.join(' ')} exited ${code}: ${stderr}`));
      const kb = Number(stderr.trim().split('\n').pop());
      resolve({ seconds: elapsed, peakMiB: kb / 1024 });
    });
  });
}

async function startContainer(cmd: string[]): Promise<string> {
  const name = `fb-bench-${suffix()}`;
  const c = await docker.createContainer({
    name,
    Image: FIXTURE_IMAGE,
    Cmd: cmd,
    Labels: label,
    HostConfig: { Init: true },
  });
  await c.start();
  return name;
}

/** The runbook an on-call engineer would type, writing the same artifacts and one tar.gz. */
function cliRunbook(name: string, dir: string, exportPipe: string): string {
  return [
    `cd ${dir}`,
    `docker top ${name} -ef > top.txt`,
    `docker stats --no-stream ${name} > stats.txt`,
    `docker inspect ${name} > inspect.json`,
    `docker logs -t ${name} > logs.stdout.log 2> logs.stderr.log`,
    `docker diff ${name} > diff.txt`,
    `docker export ${name} | tee filesystem.tar ${exportPipe} | sha256sum > filesystem.sha256`,
    `sha256sum *.txt *.json *.log > manifest.txt`,
    `tar czf ../bundle.tar.gz .`,
  ].join(' && ');
}

async function timeRounds<T>(fn: () => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < rounds; i++) results.push(await fn());
  return results;
}

export async function benchForensics(): Promise<void> {
  const evidence = mkdtempSync(join(tmpdir(), 'fb-bench-ev-'));
  const scratch = () => mkdtempSync(join(tmpdir(), 'fb-bench-cli-'));

  const small = await startContainer(['sh', '-c', 'echo started; echo warn >&2; sleep 3600']);
  const cliSmall = await timeRounds(() => seconds(() => sh(cliRunbook(small, scratch(), ''))));
  const fbSmall = await timeRounds(() => firebreakMeasured(['forensics', small, '--evidence-dir', evidence]));
  report(
    `forensics of an idle small container (median of ${rounds})`,
    [
      ['docker CLI runbook (top, stats, inspect, logs, diff, export, tar czf)', median(cliSmall)],
      ['firebreak forensics (bundle finalised)', median(fbSmall.map((r) => r.seconds))],
    ],
    'docker CLI runbook (top, stats, inspect, logs, diff, export, tar czf)',
  );
  console.log(`  firebreak peak RSS ${Math.max(...fbSmall.map((r) => r.peakMiB)).toFixed(0)} MiB`);

  const big = await startContainer([
    'sh',
    '-c',
    `dd if=/dev/urandom of=/big.bin bs=1M count=${bigMiB} 2>/dev/null; touch /ready; sleep 3600`,
  ]);
  await sh(`until docker exec ${big} test -f /ready; do sleep 0.5; done`);
  const exportPlain = await timeRounds(() => seconds(() => sh(`docker export ${big} | sha256sum > /dev/null`)));
  const fbNone = await timeRounds(() =>
    firebreakMeasured(['forensics', big, '--compression', 'none', '--evidence-dir', evidence]),
  );
  rmSync(evidence, { recursive: true, force: true });
  const exportGzip = await timeRounds(() =>
    seconds(() => sh(`docker export ${big} | gzip -1 | sha256sum > /dev/null`)),
  );
  const fbGzip = await timeRounds(() =>
    firebreakMeasured(['forensics', big, '--compression', 'gzip', '--evidence-dir', evidence]),
  );
  rmSync(evidence, { recursive: true, force: true });
  report(
    `forensics of a container with ${bigMiB} MiB of random files (median of ${rounds})`,
    [
      ['docker export | sha256sum', median(exportPlain)],
      ['firebreak forensics --compression none', median(fbNone.map((r) => r.seconds))],
      ['docker export | gzip -1 | sha256sum', median(exportGzip)],
      ['firebreak forensics --compression gzip', median(fbGzip.map((r) => r.seconds))],
    ],
    'docker export | sha256sum',
  );
  console.log(
    `  gzip: firebreak ${(median(fbGzip.map((r) => r.seconds)) / median(exportGzip)).toFixed(2)}x of docker export | gzip -1 | sha256sum` +
      `; peak RSS none ${Math.max(...fbNone.map((r) => r.peakMiB)).toFixed(0)} MiB, gzip ${Math.max(...fbGzip.map((r) => r.peakMiB)).toFixed(0)} MiB`,
  );
}
