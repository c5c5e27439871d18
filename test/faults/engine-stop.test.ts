// The engine stops mid-playbook: killed (SIGKILL, a crash) during a streamed export and during an
// isolate of many containers. Against a private engine of this file's own (test/setup/
// private-engine.ts), never the one the other tests use. Each time firebreak must exit 3 with one
// line naming the engine, finish a bundle that verifies and says which steps completed, never
// file a cut export as a whole one, and, once the engine is back, a second run must complete.
import { readdirSync, statSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bundleFromOutput, tempDir, unpackBundle } from '../engine/bundle-files.js';
import { runCli, startCli, type StartedCli } from '../engine/cli.js';
import { usePrivateEngine } from '../setup/private-engine.js';
import { trial } from './ledger.js';

// Docker's default configuration (no --live-restore): a restarted engine kills what ran before and
// starts again the containers whose restart policy says so. (Tried with --live-restore: after the
// crash, the re-run's disconnect of one container was answered 200 yet the engine still listed the
// network; firebreak's assert.isolated said so and the re-run exited 1. An engine matter.)
const engine = usePrivateEngine();

/** Containers are removed after each test: a restart of the engine restarts those of earlier tests too. */
const created: string[] = [];
afterEach(async () => {
  // A test that failed between its kill and its restart must not fail the next ones too.
  if (engine().pid() === undefined) await engine().restart();
  await Promise.allSettled(created.splice(0).map((id) => engine().docker.getContainer(id).remove({ force: true })));
});
async function container(opts: Parameters<ReturnType<typeof engine>['run']>[0]) {
  const made = await engine().run(opts);
  created.push(made.id);
  return made;
}

/** An image whose filesystem holds 128 MiB (zeros: quick to write, and zeros in content must never read as the tar's end). */
const BIG_IMAGE = 'fb-test/big:1';
const BIG_MIB = 128;

beforeAll(async () => {
  const docker = engine().docker;
  const maker = await engine().run({ cmd: ['dd', 'if=/dev/zero', 'of=/big', 'bs=1M', `count=${BIG_MIB}`] });
  await docker.getContainer(maker.id).wait();
  // Committed, so the big file is in the image: the forensics diff (and files.tar) stay small,
  // and only the export carries it.
  await docker.getContainer(maker.id).commit({ repo: 'fb-test/big', tag: '1' });
  await docker.getContainer(maker.id).remove({ force: true });
}, 120_000);

let evidence: string;
beforeEach(() => {
  evidence = tempDir();
});

const fb = (args: string[]) => [...args, '--host', engine().host, '--evidence-dir', evidence];

/** Polls the evidence folder until `test` holds for one of its files (bounded); returns that file's name. */
async function fileGrows(test: (name: string, size: number) => boolean, cli: StartedCli, ms = 30_000): Promise<string> {
  const deadline = Date.now() + ms;
  let exited = false;
  void cli.done.then(() => (exited = true));
  for (;;) {
    for (const name of readdirSync(evidence)) {
      try {
        if (test(name, statSync(join(evidence, name)).size)) return name;
      } catch {
        // Removed between the listing and the stat.
      }
    }
    if (exited) throw new Error(`firebreak ended before the moment came: ${JSON.stringify(await cli.done)}`);
    if (Date.now() > deadline)
      throw new Error(`no file in ${evidence} grew as expected within ${ms} ms: ${readdirSync(evidence).join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The engine answers again, and every container `ids` names runs (bounded). */
async function engineBack(ids: string[]): Promise<void> {
  await engine().restart();
  const deadline = Date.now() + 60_000;
  for (const id of ids) {
    while (!(await engine().docker.getContainer(id).inspect()).State.Running) {
      if (Date.now() > deadline) throw new Error(`container ${id.slice(0, 12)} did not come back with the engine`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

const MiB = 1024 * 1024;
const stopLine = (host: string) =>
  new RegExp(
    `^firebreak: the Docker engine at ${host.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} stopped answering during \\S+ on \\S+; the bundle records which steps completed$`,
    'm',
  );

/** The common checks on a run cut by the engine: exit 3, the line, a bundle that verifies. */
async function cutRun(result: Awaited<StartedCli['done']>) {
  expect(result.code, result.stderr).toBe(3);
  expect(result.stderr).toMatch(stopLine(engine().host));
  expect(result.stderr).not.toMatch(/\n\s+at /);
  const bundle = bundleFromOutput(result.stdout);
  const verify = await runCli(['bundle', 'verify', bundle.path]);
  expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  const bag = unpackBundle(bundle.path);
  bag.sha256Check('manifest-sha256.txt');
  // Nothing left behind: no spool file, no partial.
  expect(readdirSync(evidence).filter((n) => n.includes('.spool-') || n.endsWith('.partial'))).toEqual([]);
  return { bundle, run: bag.json('data/run.json'), bag };
}

interface StepJson {
  id: string;
  uses: string;
  status: string;
  error?: string;
  undo?: { attachments?: unknown[] };
}
interface ArtifactJson {
  path: string;
  size: number;
  sha256: string;
  incomplete?: string;
}

describe('the engine killed during a streamed export', () => {
  for (const compression of ['gzip', 'none'] as const) {
    // gzip: the export is still spooling when it is cut. none: past 64 MiB it goes straight into the
    // tar (src/evidence/direct.ts), so the cut lands in the bundle itself.
    const moment =
      compression === 'gzip' ? 'while it spools (16 MiB in)' : 'while it is written straight into the tar (72 MiB in)';
    it(
      `exits 3, records the export as cut and every earlier step as done, and a re-run completes (compression ${compression}, ${moment})`,
      () =>
        trial('engine-stop', `SIGKILL during a forensics export, compression ${compression}, ${moment}`, async () => {
          const target = await container({ image: BIG_IMAGE, restart: 'always' });
          const cli = startCli(fb(['forensics', target.name, '--compression', compression]));
          await fileGrows(
            compression === 'gzip'
              ? (name, size) => name.includes('.spool-') && size > 16 * MiB
              : (name, size) => name.endsWith('.partial') && size > 72 * MiB,
            cli,
          );
          await engine().kill();
          const { run } = await cutRun(await cli.done);

          expect(run.status).toBe('failed');
          const steps: StepJson[] = run.targets[0].steps;
          const exportStep = steps.find((s) => s.id === 'export')!;
          expect(exportStep.status).toBe('failed');
          expect(exportStep.error).toMatch(
            new RegExp(
              `^evidence.export on ${target.name}: the Docker engine at unix://\\S+ stopped answering during GET /containers/\\w+/export, after \\d`,
            ),
          );
          // Every step before the export completed, and says so.
          expect(steps.filter((s) => s.id !== 'export').map((s) => [s.id, s.status])).toEqual(
            ['top', 'stats', 'inspect', 'networks', 'logs', 'diff', 'files', 'image'].map((id) => [id, 'succeeded']),
          );
          // The cut export is never filed as a whole one: absent, or flagged incomplete with what arrived.
          const artifacts: ArtifactJson[] = run.artifacts;
          const filesystem = artifacts.find((a) => a.path.endsWith('/filesystem.tar'));
          if (compression === 'none') expect(filesystem?.incomplete).toMatch(/stopped answering/);
          if (filesystem) {
            expect(filesystem.incomplete).toBeTruthy();
            expect(filesystem.size).toBeLessThan(BIG_MIB * MiB);
          }
          expect(artifacts.filter((a) => !a.incomplete).map((a) => a.path)).not.toContain(filesystem?.path);

          await engineBack([target.id]);
          const again = await runCli(fb(['forensics', target.name, '--compression', compression]), {
            timeoutMs: 90_000,
          });
          expect(again.code, again.stderr).toBe(0);
          const whole = unpackBundle(bundleFromOutput(again.stdout).path).json('data/run.json');
          const exported: ArtifactJson = whole.artifacts.find((a: ArtifactJson) => a.path.endsWith('/filesystem.tar'));
          expect(exported.incomplete).toBeUndefined();
          expect(exported.size).toBeGreaterThan(BIG_MIB * MiB);
        }),
      150_000,
    );
  }
});

describe('the engine killed during an isolate of many containers', () => {
  it(
    'exits 3, records every disconnect it made, and a re-run completes; the first bundle restores what it cut',
    () =>
      trial('engine-stop', 'SIGKILL after the first disconnect of 6 containers, 2 at a time', async () => {
        const docker = engine().docker;
        const network = `fb-test-net-${Date.now().toString(36)}`;
        await docker.createNetwork({ Name: network, Driver: 'bridge', Internal: true });
        const label = `fleet-${Date.now().toString(36)}`;
        const targets = await Promise.all(
          Array.from({ length: 6 }, () => container({ networks: [network], labels: { 'firebreak.fleet': label } })),
        );
        const networksOf = async (id: string) =>
          Object.keys((await docker.getContainer(id).inspect()).NetworkSettings.Networks);

        const cli = startCli(
          fb(['isolate', '--filter', `label=firebreak.fleet=${label}`, '--yes', '--concurrency', '2']),
        );
        await cli.stderrMatches(/disconnect succeeded/);
        await engine().kill();
        const { bundle, run } = await cutRun(await cli.done);
        expect(run.status).toBe('failed');

        // Without a restart policy they come back stopped: isolate and restore act on stopped containers too.
        await engineBack([]);
        const cut: string[] = [];
        for (const t of targets) if ((await networksOf(t.id)).length === 0) cut.push(t.id);
        expect(cut.length).toBeGreaterThan(0);
        // Some containers were never reached: the run was cut, not finished.
        expect(cut.length).toBeLessThan(targets.length);
        for (const id of cut) {
          const record = run.targets.find((t: { id: string }) => t.id === id);
          const disconnect: StepJson = record.steps.find((s: StepJson) => s.uses === 'network.disconnect');
          expect(disconnect.undo?.attachments?.length, `record of ${id}`).toBe(1);
        }
        // Every step that did not complete says why, naming the engine.
        for (const t of run.targets) {
          for (const s of t.steps as StepJson[])
            if (s.status === 'failed') expect(s.error, s.error).toMatch(/Docker engine at unix:\/\//);
        }

        const again = await runCli(
          fb(['isolate', '--filter', `label=firebreak.fleet=${label}`, '--yes', '--concurrency', '5']),
        );
        expect(again.code, again.stderr).toBe(0);
        for (const t of targets) expect(await networksOf(t.id)).toEqual([]);

        const restored = await runCli(
          fb(['restore-network', ...cut, '--from', bundle.path, '--yes', '--concurrency', '5']),
        );
        expect(restored.code, restored.stderr).toBe(0);
        for (const id of cut) expect(await networksOf(id)).toEqual([network]);
      }),
    150_000,
  );
});

/**
 * A stand-in for an engine whose export handler gives up part way (its layer unmounted, a read
 * error) yet closes the HTTP answer properly: every request goes through to the private engine
 * untouched, except that an export answer is ended, cleanly, after `limit` bytes.
 */
async function cuttingProxy(socket: string, limit: number): Promise<{ host: string; close: () => Promise<void> }> {
  const path = join(tempDir('fb-proxy-'), 'p.sock');
  const server = createServer((req, res) => {
    const upstream = request(
      { socketPath: socket, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        if (!/\/export(\?|$)/.test(req.url ?? '')) return void answer.pipe(res);
        let sent = 0;
        answer.on('data', (chunk: Buffer) => {
          if (sent >= limit) return;
          const part = chunk.subarray(0, limit - sent);
          sent += part.length;
          res.write(part);
          if (sent >= limit) {
            answer.destroy();
            res.end(); // the chunked terminator: to HTTP this answer is complete
          }
        });
        answer.on('end', () => res.end());
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { host: `unix://${path}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('an export that ends early but cleanly', () => {
  it("is caught by the tar's missing end blocks: the export step fails saying so (exit 1), and is not hashed as whole", () =>
    trial('cut-stream', 'an export answer ended cleanly after 8 MiB, between the engine and firebreak', async () => {
      const target = await container({ image: BIG_IMAGE });
      const proxy = await cuttingProxy(engine().socket, 8 * MiB);
      try {
        const result = await runCli(['forensics', target.name, '--host', proxy.host, '--evidence-dir', evidence]);
        // The engine is still there and answered every other call: a failed step, not a lost engine.
        expect(result.code, result.stderr).toBe(1);
        expect(result.stderr).not.toMatch(/stopped answering/);
        const bundle = bundleFromOutput(result.stdout);
        expect((await runCli(['bundle', 'verify', bundle.path])).code).toBe(0);
        const run = unpackBundle(bundle.path).json('data/run.json');
        const exportStep: StepJson = run.targets[0].steps.find((s: StepJson) => s.id === 'export');
        expect(exportStep.status).toBe('failed');
        expect(exportStep.error).toBe(
          `evidence.export on ${target.name}: GET /containers/${target.id.slice(0, 12)}/export at ${proxy.host} ended after 8.0 MiB, but the tar has no end-of-archive blocks (it stops inside an entry): the answer was cut short`,
        );
        expect(
          run.artifacts.filter((a: ArtifactJson) => !a.incomplete).map((a: ArtifactJson) => a.path),
        ).not.toContainEqual(expect.stringMatching(/filesystem\.tar$/));
      } finally {
        await proxy.close();
      }
    }));
});
