// Someone else acts on a target between two of firebreak's steps: removes it, restarts it (and it
// does not come back), or pauses it. The run is held at a known point by a webhook step whose
// loopback receiver answers only once the test has made the change, so the change lands exactly
// between an evidence step and the steps after it. That target fails with one clear line, or, where
// the engine accepts the next steps (a paused container), goes on and records the truth; the other
// target completes either way, and the bundle verifies.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bundleFromOutput, tempDir, unpackBundle } from '../engine/bundle-files.js';
import { runCli } from '../engine/cli.js';
import {
  createNetwork,
  docker,
  inspectContainer,
  startContainer,
  type TestContainer,
  useHarness,
} from '../engine/harness.js';
import { trial } from './ledger.js';

useHarness();

// ---- a webhook receiver on loopback that holds one target's run until released ---------------

interface Gate {
  arrived: Promise<void>;
  release: () => void;
}
let server: Server;
let url: string;
const gates = new Map<string, Gate & { arrive: () => void; released: Promise<void> }>();

/** The run of `name` stops at its webhook step until the returned gate is released. */
function hold(name: string): Gate {
  let arrive!: () => void;
  let release!: () => void;
  const arrived = new Promise<void>((resolve) => (arrive = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  const gate = { arrived, arrive, release, released };
  gates.set(name, gate);
  return gate;
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', async () => {
      const gate = gates.get((JSON.parse(body) as { target: { name: string } }).target.name);
      if (gate) {
        gate.arrive();
        await gate.released;
      }
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hold`;
});
afterAll(async () => {
  for (const gate of gates.values()) gate.release();
  await new Promise((resolve) => server.close(resolve));
});

// ---- the run ------------------------------------------------------------------------------------

let evidence: string;
beforeEach(() => {
  evidence = tempDir();
});

const steps = [
  '{id: inspect, uses: evidence.inspect}',
  '{id: top, uses: evidence.top}',
  '{id: disconnect, uses: network.disconnect}',
  '{id: stop, uses: container.stop, with: {grace: 1s}}',
  '{id: verify, uses: assert.stopped}',
];

/** Evidence, containment, a check; with a webhook step (where the run is held) just before `before`. */
function playbookHolding(before: string): string {
  const file = join(tempDir(), 'changed-between-steps.yaml');
  const list = steps.flatMap((step) =>
    step.includes(`id: ${before},`) ? [`{id: hold, uses: alert.webhook, with: {url: "${url}"}}`, step] : [step],
  );
  writeFileSync(
    file,
    [
      'name: changed-between-steps',
      'description: Evidence, containment and a check, with a moment for someone else to act.',
      'steps:',
      ...list.map((step) => `  - ${step}`),
      '',
    ].join('\n'),
  );
  return file;
}

/** Two targets on one network. */
async function twoTargets(): Promise<{ net: string; victim: TestContainer; bystander: TestContainer }> {
  const net = await createNetwork();
  const [victim, bystander] = await Promise.all([
    startContainer({ networks: [{ name: net.name }] }),
    startContainer({ networks: [{ name: net.name }] }),
  ]);
  return { net: net.name, victim: victim!, bystander: bystander! };
}

/** Runs the playbook on both; once the victim's run reaches its webhook step (before `before`), `change` acts. */
async function runWithChange(
  before: string,
  victim: TestContainer,
  bystander: TestContainer,
  change: () => Promise<unknown>,
  extra: string[] = [],
) {
  const gate = hold(victim.name);
  const run = runCli([
    'run',
    playbookHolding(before),
    victim.name,
    bystander.name,
    '--yes',
    '--evidence-dir',
    evidence,
    ...extra,
  ]);
  await Promise.race([
    gate.arrived,
    run.then((r) =>
      Promise.reject(new Error(`the run ended before the victim's webhook step: ${r.stdout}${r.stderr}`)),
    ),
  ]);
  try {
    await change();
  } finally {
    gate.release();
  }
  return run;
}

/** The other target: every step succeeded, and the engine shows it cut off and stopped. */
async function expectBystanderDone(run: any, bystander: TestContainer) {
  const record = run.targets.find((t: { id: string }) => t.id === bystander.id);
  expect(record.status).toBe('succeeded');
  expect(record.steps.map((s: { status: string }) => s.status)).toEqual(Array(6).fill('succeeded'));
  const after = await inspectContainer(bystander.id);
  expect(after.State.Running).toBe(false);
  expect(Object.keys(after.NetworkSettings.Networks)).toEqual([]);
}

/** The bundle the run names verifies; returns its run.json. */
async function verifiedRun(stdout: string) {
  const bundle = bundleFromOutput(stdout);
  const verified = await runCli(['bundle', 'verify', bundle.path]);
  expect(verified.code, verified.stdout + verified.stderr).toBe(0);
  return unpackBundle(bundle.path).json('data/run.json');
}

/** Exactly one FAIL line on stdout, and no 64-character id anywhere but the bundle's hash at a line's end. */
function expectOneFailLine(result: { stdout: string; stderr: string }, line: RegExp) {
  const fails = result.stdout.split('\n').filter((l) => /^\s+FAIL /.test(l));
  expect(fails, result.stdout).toHaveLength(1);
  expect(fails[0]).toMatch(line);
  expect(result.stdout + result.stderr).not.toMatch(/[0-9a-f]{64}(?! *$)/m);
}

describe('a target changed by someone else between steps', () => {
  it('removed: that target fails with one line naming the step, the container and the engine, the other completes', () =>
    trial('target-changed', 'docker rm -f between evidence.top and network.disconnect', async () => {
      const { victim, bystander } = await twoTargets();
      const result = await runWithChange('disconnect', victim, bystander, () =>
        docker().getContainer(victim.id).remove({ force: true }),
      );

      expect(result.code, result.stderr).toBe(1);
      expectOneFailLine(
        result,
        new RegExp(
          `FAIL disconnect: network\\.disconnect on ${victim.name}: engine said: No such container: ${victim.name}$`,
        ),
      );
      const run = await verifiedRun(result.stdout);
      const record = run.targets.find((t: { id: string }) => t.id === victim.id);
      expect(record.steps.map((s: { status: string }) => s.status)).toEqual([
        'succeeded',
        'succeeded',
        'succeeded',
        'failed',
        'skipped',
        'skipped',
      ]);
      await expectBystanderDone(run, bystander);
    }));

  it('restarted after its stop: the check after it fails with one line saying it runs, the other completes', () =>
    trial('target-changed', 'docker restart between container.stop and assert.stopped', async () => {
      const { victim, bystander } = await twoTargets();
      const result = await runWithChange('verify', victim, bystander, () =>
        docker().getContainer(victim.id).restart({ t: 1 }),
      );

      expect(result.code, result.stderr).toBe(1);
      expectOneFailLine(
        result,
        new RegExp(`FAIL verify: assert\\.stopped on ${victim.name}: the container is running$`),
      );
      const run = await verifiedRun(result.stdout);
      await expectBystanderDone(run, bystander);
      // Running again, but still cut off: a restart does not bring the networks back.
      const after = await inspectContainer(victim.id);
      expect([after.State.Running, Object.keys(after.NetworkSettings.Networks)]).toEqual([true, []]);
    }));

  it('paused: the engine takes every later step, so that target goes on, thawed before its stop, and the record says it was paused', () =>
    trial('target-changed', 'docker pause between evidence.inspect and evidence.top', async () => {
      const { victim, bystander } = await twoTargets();
      const result = await runWithChange('top', victim, bystander, () => docker().getContainer(victim.id).pause());

      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.stdout).toMatch(/ok {3}stop: unpaused \(it was paused\), then stopped in /);
      const run = await verifiedRun(result.stdout);
      const stop = run.targets
        .find((t: { id: string }) => t.id === victim.id)
        .steps.find((s: { id: string }) => s.id === 'stop');
      expect(stop.undo).toMatchObject({ previous: 'paused', unpaused: true });
      const after = await inspectContainer(victim.id);
      expect([after.State.Paused, after.State.Running]).toEqual([false, false]);
      await expectBystanderDone(run, bystander);
    }));

  it('removed while the run is on the other target: it fails at its first step, the other completes', () =>
    trial('target-changed', 'docker rm -f of a queued target (--concurrency 1)', async () => {
      const { victim, bystander } = await twoTargets();
      // One target at a time, the held one first: the other is removed while it waits its turn.
      const result = await runWithChange(
        'inspect',
        bystander,
        victim,
        () => docker().getContainer(victim.id).remove({ force: true }),
        ['--concurrency', '1'],
      );

      expect(result.code, result.stderr).toBe(1);
      expectOneFailLine(
        result,
        new RegExp(
          `FAIL inspect: evidence\\.inspect on ${victim.name}: engine said: No such container: ${victim.name}$`,
        ),
      );
      const run = await verifiedRun(result.stdout);
      await expectBystanderDone(run, bystander);
    }));
});
