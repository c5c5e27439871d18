// Auto-recovery: containers turned unhealthy on purpose (their health probe checks a file that
// the bench removes through exec), healed by `firebreak watch` and, in the same run, by a docker
// CLI loop that polls every 5 s and restarts what is unhealthy, the way the autoheal family does.
// Both are timed from the engine's own events: `health_status: unhealthy` to the restart's `kill`
// (the restart call reaching the engine), and on to `health_status: healthy`.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { docker, FIXTURE_IMAGE, median, run, suffix } from './common.js';

const count = Number(process.env.BENCH_CONTAINERS ?? 10);
const pollMs = 5000;
/** Removals spread over one poll interval, so the polling loop meets them at every phase of its cycle. */
const spreadMs = pollMs;

interface Timing {
  unhealthy?: number;
  restart?: number;
  healthy?: number;
}

export async function benchRecover(): Promise<void> {
  const tag = `fb-bench-recover-${suffix()}`;
  const ids = await makeContainers(tag);
  const evidence = mkdtempSync(join(tmpdir(), 'fb-bench-'));
  let fb: Awaited<ReturnType<typeof phase>>;
  let poll: Awaited<ReturnType<typeof phase>>;
  try {
    fb = await phase(ids, tag, () => startWatch(tag, evidence));
    poll = await phase(ids, tag, () => startPolling(tag));
  } finally {
    await Promise.all(
      ids.map((id) =>
        docker
          .getContainer(id)
          .remove({ force: true })
          .catch(() => undefined),
      ),
    );
  }
  const rows: Array<[string, number[], number[]]> = [
    ['docker CLI loop (poll every 5 s, docker restart)', poll.toRestart, poll.toHealthy],
    ['firebreak watch (events, evidence first)', fb.toRestart, fb.toHealthy],
  ];
  console.log(`\nrecover: ${count} containers turned unhealthy on purpose (median seconds, from the engine's events)`);
  console.log(`  ${''.padEnd(50)} unhealthy->restart  unhealthy->healthy`);
  for (const [name, toRestart, toHealthy] of rows)
    console.log(
      `  ${name.padEnd(50)} ${median(toRestart).toFixed(3).padStart(17)}  ${median(toHealthy).toFixed(3).padStart(18)}`,
    );
  const restartRatio = median(poll.toRestart) / median(fb.toRestart);
  const healthyRatio = median(poll.toHealthy) / median(fb.toHealthy);
  console.log(
    `  ratio (polling / firebreak): unhealthy->restart ${restartRatio.toFixed(1)}x, unhealthy->healthy ${healthyRatio.toFixed(1)}x`,
  );
  console.log(
    `  targets: event->restart median under 1 s: ${median(fb.toRestart) < 1 ? 'met' : 'NOT met'}; ` +
      `at least 5x faster than polling: unhealthy->restart ${restartRatio >= 5 ? 'met' : 'NOT met'}, ` +
      `unhealthy->healthy ${healthyRatio >= 5 ? 'met' : 'NOT met'}`,
  );
}

async function makeContainers(tag: string): Promise<string[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const c = await docker.createContainer({
        name: `${tag}-${i}`,
        Image: FIXTURE_IMAGE,
        Cmd: ['sh', '-c', 'touch /tmp/ok; exec sleep 3600'],
        // Not the shared firebreak.bench label: another bench's cleanup removes those, even mid-run.
        Labels: { 'firebreak.test': '1', [tag]: '1' },
        Healthcheck: { Test: ['CMD-SHELL', 'test -f /tmp/ok'], Interval: 500e6, Timeout: 10e9, Retries: 1 },
        HostConfig: { Init: true },
      });
      await c.start();
      return c.id;
    }),
  );
}

/** Breaks every container's health, spread over a poll interval, and times each one back to healthy. */
async function phase(
  ids: string[],
  tag: string,
  startHealer: () => Promise<() => Promise<void>>,
): Promise<{ toRestart: number[]; toHealthy: number[] }> {
  await allHealthy(ids);
  const timings = new Map<string, Timing>(ids.map((id) => [id, {}]));
  const events = await follow(tag, timings);
  const stop = await startHealer();
  try {
    await Promise.all(
      ids.map(async (id, i) => {
        await new Promise((resolve) => setTimeout(resolve, (i * spreadMs) / ids.length));
        const exec = await docker.getContainer(id).exec({ Cmd: ['rm', '-f', '/tmp/ok'] });
        await exec.start({ Detach: true });
      }),
    );
    const deadline = Date.now() + 240_000;
    while ([...timings.values()].some((t) => t.healthy === undefined)) {
      if (Date.now() > deadline) throw new Error('not every container was healthy again within 240 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await stop();
    events.destroy();
  }
  const done = [...timings.values()] as Array<Required<Timing>>;
  return {
    toRestart: done.map((t) => (t.restart - t.unhealthy) / 1000),
    toHealthy: done.map((t) => (t.healthy - t.unhealthy) / 1000),
  };
}

/** Records each container's unhealthy, first kill after it, and healthy after that, by the engine's clock. */
async function follow(tag: string, timings: Map<string, Timing>): Promise<Readable> {
  const stream = (await docker.getEvents({
    filters: JSON.stringify({ type: ['container'], label: [tag], event: ['health_status', 'kill'] }),
  })) as unknown as Readable;
  let rest = '';
  stream.on('data', (chunk: Buffer) => {
    rest += chunk.toString('utf8');
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      if (!line.trim()) continue;
      const event = JSON.parse(line) as { Action: string; timeNano: number; Actor: { ID: string } };
      const t = timings.get(event.Actor.ID);
      if (!t) continue;
      const at = event.timeNano / 1e6;
      if (event.Action === 'health_status: unhealthy' && t.unhealthy === undefined) t.unhealthy = at;
      else if (event.Action === 'kill' && t.unhealthy !== undefined && t.restart === undefined) t.restart = at;
      else if (event.Action === 'health_status: healthy' && t.restart !== undefined && t.healthy === undefined)
        t.healthy = at;
    }
  });
  stream.on('error', () => undefined);
  return stream;
}

async function allHealthy(ids: string[]): Promise<void> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const states = await Promise.all(ids.map((id) => docker.getContainer(id).inspect()));
    if (states.every((s) => s.State.Health?.Status === 'healthy')) return;
    if (Date.now() > deadline)
      throw new Error(
        `containers did not become healthy within 180 s: ${states.map((s) => s.State.Health?.Status ?? s.State.Status).join(', ')}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function startWatch(tag: string, evidence: string): Promise<() => Promise<void>> {
  const child = spawn(
    process.execPath,
    ['bin/run.js', 'watch', '--label', tag, '--max-parallel', String(count), '--evidence-dir', evidence],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
      if (/following /.test(stderr)) resolve();
    });
    void closed.then(() => reject(new Error(`firebreak watch exited: ${stderr}`)));
  });
  return async () => {
    child.kill('SIGTERM');
    await closed;
    if (process.env.BENCH_VERBOSE) process.stderr.write(stderr);
  };
}

/** The autoheal way: every 5 s list the unhealthy containers and restart them one by one. */
async function startPolling(tag: string): Promise<() => Promise<void>> {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const { stdout } = await run('docker', [
        'ps',
        '-q',
        '--no-trunc',
        '--filter',
        `label=${tag}`,
        '--filter',
        'health=unhealthy',
      ]);
      for (const id of stdout.split('\n').filter(Boolean)) await run('docker', ['restart', id]);
      for (let waited = 0; waited < pollMs && !stopped; waited += 100)
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
  };
}
