// SIGINT and SIGTERM at 20 moments picked by a seeded generator: 16 during forensics runs that
// export a filesystem (with and without --pause, gzip and none), 4 during an isolate of 30
// containers. Whatever the moment, the run must leave a bundle that verifies and says `aborted`,
// no debris in the evidence folder, no container left paused, and every container it cut off
// restorable from that bundle. FIREBREAK_FAULT_SEED=<n> picks the same moments again (the
// machine's timing still varies); the seed is printed once.
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync, watch } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleFromOutput, tempDir } from '../engine/bundle-files.js';
import { runCli, startCli, type CliResult, type StartedCli } from '../engine/cli.js';
import {
  createNetwork,
  docker,
  inspectContainer,
  startContainer,
  type TestContainer,
  uniqueName,
  useHarness,
} from '../engine/harness.js';
import { trial } from './ledger.js';

useHarness();

// ---- moments ------------------------------------------------------------------------------------

const seed = process.env.FIREBREAK_FAULT_SEED
  ? Number(process.env.FIREBREAK_FAULT_SEED) >>> 0
  : Math.floor(Math.random() * 2 ** 32);
console.log(`interrupt trials: seed ${seed} (FIREBREAK_FAULT_SEED=${seed} picks the same moments)`);

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
function generator(from: number): () => number {
  let a = from >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
/** Each trial draws from its own generator, so a retried moment does not shift the others. */
const trialRng = (index: number) => generator(seed ^ Math.imul(index + 1, 0x9e3779b9));
const pick = <T>(rng: () => number, list: readonly T[]): T => list[Math.floor(rng() * list.length)]!;
const between = (rng: () => number, lo: number, hi: number) => Math.round(lo + rng() * (hi - lo));

/** When the signal is sent: a delay after the run's first progress line, or an event plus a little. */
type Moment =
  | { kind: 'delay'; ms: number }
  | { kind: 'spool'; ms: number }
  | { kind: 'line'; text: string; ms: number; label?: string };

const describeMoment = (m: Moment) =>
  m.kind === 'delay'
    ? `${m.ms} ms into the run`
    : m.kind === 'spool'
      ? `${m.ms} ms after the first spool file appeared`
      : `${m.ms} ms after ${m.label ?? `"${m.text}"`}`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves at the moment, or when the CLI has exited (then the signal finds nothing to stop). */
async function reach(moment: Moment, cli: StartedCli, evidence: string): Promise<void> {
  const exited = cli.done.then(() => {});
  await Promise.race([cli.stderrMatches(/❯/), exited]);
  if (moment.kind === 'spool') await Promise.race([fileAppears(evidence, /\.spool-/, exited), exited]);
  if (moment.kind === 'line') await Promise.race([cli.stderrMatches(new RegExp(moment.text)), exited]);
  await sleep(moment.ms);
}

function fileAppears(dir: string, name: RegExp, until: Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const there = () => readdirSync(dir).some((n) => name.test(n));
    const watcher = watch(dir, () => {
      if (there()) done();
    });
    const done = () => {
      watcher.close();
      resolve();
    };
    void until.then(done);
    if (there()) done();
  });
}

// ---- what every trial checks --------------------------------------------------------------------

/**
 * The run had finished before the signal landed: nothing was interrupted, so no trial to count.
 * Either it exited 0, or the signal came after it had printed its success and let go of the
 * signal handlers. Anything else (a hang killed by the CLI helper's timeout) is a trial, and lost.
 */
const finishedFirst = (result: CliResult, signal: NodeJS.Signals) =>
  result.code === 0 || (result.signal === signal && / succeeded on \d+ containers? in /.test(result.stdout));

/** The bundle verifies with `firebreak bundle verify`; returns its run.json. */
async function verifiedRun(result: CliResult): Promise<any> {
  expect(result.code, `exit code; stderr: ${result.stderr}`).toBe(130);
  const bundle = bundleFromOutput(result.stdout);
  const verified = await runCli(['bundle', 'verify', bundle.path]);
  expect(verified.code, verified.stdout + verified.stderr).toBe(0);
  const run = runJsonOf(bundle.path);
  expect(run.status).toBe('aborted');
  return { run, bundle: bundle.path };
}

/** data/run.json, read straight out of the tar: nothing else of a 100 MB bundle is written out. */
const runJsonOf = (bundle: string) =>
  JSON.parse(execFileSync('tar', ['-xOf', bundle, '--wildcards', '*/data/run.json'], { encoding: 'utf8' }));

/** Only finished bundles and their .sha256 files: no spool, partial, journal or run marker left behind. */
function expectNoDebris(evidence: string): void {
  const names = readdirSync(evidence);
  expect(
    names.filter((n) => !/\.tar(\.gz)?(\.sha256)?$/.test(n) || n.startsWith('.')),
    `left in ${evidence}`,
  ).toEqual([]);
}

/**
 * Runs `attempt` at the trial's moments until one lands mid-run (at most three): a moment after
 * the run had finished is said on the console and not counted.
 */
async function midRun(
  rng: () => number,
  choose: (rng: () => number) => Moment,
  attempt: (moment: Moment) => Promise<boolean>,
): Promise<void> {
  for (let tries = 1; tries <= 3; tries++) {
    const moment = choose(rng);
    if (await attempt(moment)) return;
    console.log(
      `interrupt trial: the run had finished before the signal ${describeMoment(moment)}; not counted, another moment`,
    );
  }
  throw new Error('three moments in a row came after the run had finished; the runs are too short for these moments');
}

// ---- forensics with export ----------------------------------------------------------------------

describe('SIGINT and SIGTERM during forensics with a filesystem export', () => {
  let target: TestContainer;
  /** How long one whole run takes here, from its first progress line to its exit: delays are drawn below it. */
  let runMs: number;
  beforeAll(async () => {
    // 32 MiB of random bytes, which gzip cannot shrink: the export takes a moment.
    target = await startContainer({
      cmd: ['sh', '-c', 'dd if=/dev/urandom of=/big bs=1M count=32 2>/dev/null; touch /ready; exec sleep 3600'],
    });
    for (const deadline = Date.now() + 30_000; ; await sleep(100)) {
      if (
        await docker()
          .getContainer(target.id)
          .getArchive({ path: '/ready' })
          .then(
            () => true,
            () => false,
          )
      )
        break;
      if (Date.now() > deadline) throw new Error('the forensics target did not write its file in 30 s');
    }
    const evidence = tempDir('firebreak-interrupt-');
    const cli = startCli(forensicsArgs(evidence, 'gzip', false));
    await cli.stderrMatches(/❯/);
    const began = Date.now();
    expect((await cli.done).code).toBe(0);
    runMs = Date.now() - began;
    rmSync(evidence, { recursive: true, force: true });
    console.log(`interrupt trials: an uninterrupted forensics run takes ${runMs} ms here`);
  });
  // The changed-file copy is capped so the 32 MiB are read once, by the export.
  const forensicsArgs = (evidence: string, compression: string, pause: boolean) => [
    'forensics',
    target.name,
    '--files-max-bytes',
    '1m',
    '--compression',
    compression,
    '--evidence-dir',
    evidence,
    ...(pause ? ['--pause'] : []),
  ];

  const steps = ['top', 'stats', 'inspect', 'networks', 'logs', 'diff', 'files', 'image'];
  const combos = (['SIGINT', 'SIGTERM'] as const).flatMap((signal) =>
    [false, true].flatMap((pause) =>
      (['gzip', 'none'] as const).map((compression) => ({ signal, pause, compression })),
    ),
  );
  const trials = [...combos, ...combos].map((combo, index) => ({ ...combo, index }));

  for (const { signal, pause, compression, index } of trials) {
    const what = `${signal} during forensics${pause ? ' --pause' : ''} --compression ${compression}`;
    it(`${what} (trial ${index + 1}) leaves a verified aborted bundle, no debris${pause ? ' and a thawed container' : ''}`, async () => {
      const rng = trialRng(index);
      const choose = (r: () => number): Moment => {
        const kind = pick(r, ['delay', 'spool', 'line', 'first'] as const);
        if (kind === 'delay') return { kind, ms: between(r, 0, Math.round(runMs * 0.8)) };
        if (kind === 'spool') return { kind, ms: between(r, 0, 300) };
        // While the first call (with --pause, the pause itself) is on its way to the engine.
        if (kind === 'first')
          return { kind: 'line', text: '❯', ms: between(r, 0, 40), label: 'the first progress line' };
        return { kind, text: `${pick(r, pause ? ['freeze', ...steps] : steps)} succeeded`, ms: between(r, 0, 200) };
      };
      await midRun(rng, choose, async (moment) => {
        const evidence = tempDir('firebreak-interrupt-');
        try {
          const cli = startCli(forensicsArgs(evidence, compression, pause));
          await reach(moment, cli, evidence);
          cli.kill(signal);
          const result = await cli.done;
          if (finishedFirst(result, signal)) return false;
          await trial('interrupt', `${what} at ${describeMoment(moment)} (seed ${seed})`, async () => {
            try {
              await verifiedRun(result);
              expectNoDebris(evidence);
              expect((await inspectContainer(target.id)).State.Paused, 'paused after the run').toBe(false);
            } finally {
              // A lost trial must not leave the next one a paused target.
              if ((await inspectContainer(target.id)).State.Paused) await docker().getContainer(target.id).unpause();
            }
          });
          return true;
        } finally {
          rmSync(evidence, { recursive: true, force: true });
        }
      });
    });
  }
});

// ---- an isolate of 30 containers ----------------------------------------------------------------

describe('SIGINT and SIGTERM during an isolate of 30 containers', () => {
  let net: string;
  const label = uniqueName('fleet');
  let fleet: TestContainer[];
  beforeAll(async () => {
    net = (await createNetwork()).name;
    fleet = await Promise.all(
      Array.from({ length: 30 }, () =>
        startContainer({ networks: [{ name: net }], labels: { 'firebreak.fleet': label } }),
      ),
    );
  });
  const evidence = tempDir('firebreak-interrupt-fleet-');
  afterAll(() => rmSync(evidence, { recursive: true, force: true }));

  const networksOf = async (id: string) => Object.keys((await inspectContainer(id)).NetworkSettings.Networks);

  /** Puts the containers `run` cut off back, from its bundle, and checks all 30 against the engine. */
  async function restoreFrom(bundle: string, run: any): Promise<string[]> {
    const cut: string[] = [];
    for (const c of fleet) if ((await networksOf(c.id)).length === 0) cut.push(c.id);
    // Every container cut off has its attachments in the record, whatever its step's status.
    for (const id of cut) {
      const record = run.targets.find((t: { id: string }) => t.id === id);
      const disconnect = record?.steps.find((s: { uses: string }) => s.uses === 'network.disconnect');
      expect(disconnect?.undo?.attachments?.length, `record of ${id}`).toBe(1);
    }
    if (cut.length > 0) {
      const restored = await runCli(['restore-network', ...cut, '--from', bundle, '--yes', '--evidence-dir', evidence]);
      expect(restored.code, restored.stdout + restored.stderr).toBe(0);
    }
    for (const c of fleet) expect(await networksOf(c.id), `${c.name} after restore-network`).toEqual([net]);
    return cut;
  }

  /** The n-th "disconnect succeeded" line; one way to match each, so a miss costs no backtracking. */
  const nthDisconnect = (n: number, ms: number): Moment => ({
    kind: 'line',
    text: `^(?:(?:(?!disconnect succeeded)[^])*disconnect succeeded){${n}}`,
    ms,
    label: `disconnect number ${n}`,
  });

  const trials = (['SIGINT', 'SIGTERM', 'SIGINT', 'SIGTERM'] as const).map((signal, i) => ({ signal, index: 16 + i }));
  for (const { signal, index } of trials) {
    it(`${signal} (trial ${index + 1}) leaves every container it cut off restorable from a verified aborted bundle`, async () => {
      const rng = trialRng(index);
      const choose = (r: () => number): Moment =>
        r() < 0.5 ? { kind: 'delay', ms: between(r, 100, 700) } : nthDisconnect(between(r, 1, 12), between(r, 0, 100));
      await midRun(rng, choose, async (moment) => {
        const cli = startCli([
          'isolate',
          '--filter',
          `label=firebreak.fleet=${label}`,
          '--yes',
          '--concurrency',
          '4',
          '--evidence-dir',
          evidence,
        ]);
        await reach(moment, cli, evidence);
        cli.kill(signal);
        const result = await cli.done;
        if (finishedFirst(result, signal)) {
          // Every container is cut off: put them back for the next moment.
          const bundle = bundleFromOutput(result.stdout).path;
          await restoreFrom(bundle, runJsonOf(bundle));
          return false;
        }
        const detail = `${signal} during an isolate of 30 at ${describeMoment(moment)} (seed ${seed})`;
        await trial('interrupt', detail, async () => {
          const { run, bundle } = await verifiedRun(result);
          expectNoDebris(evidence);
          const cut = await restoreFrom(bundle, run);
          console.log(`interrupt trial: ${detail}: ${cut.length} of 30 cut off, all restored`);
        });
        return true;
      });
    });
  }
});
