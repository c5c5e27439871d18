// Two firebreak processes on one container at once. The second must wait (bounded) or refuse,
// and never interleave with the first: an isolate slipped between a quarantine's commit and its
// stop, or two throttles that each record the other's limits as "previous", leave a record that
// undoes the wrong thing. Judged by the bundles' step times, what stderr says, and the engine.
import { readdirSync, watch } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bundleFromOutput, tempDir, unpackBundle } from '../engine/bundle-files.js';
import { runCli, startCli, type StartedCli } from '../engine/cli.js';
import { createNetwork, docker, inspectContainer, startContainer, uniqueName, useHarness } from '../engine/harness.js';
import { trial } from './ledger.js';

useHarness();

let evidence: string;
let locks: string;
let env: Record<string, string>;
let images: string[];
const stopped: StartedCli[] = [];
beforeEach(() => {
  evidence = tempDir();
  // A lock folder of our own: the test watches it, and other files' runs never share a lock with ours.
  locks = tempDir('firebreak-locks-');
  env = { FIREBREAK_LOCK_DIR: locks };
  images = [];
});
afterEach(async () => {
  // A first run left stopped by a failed test must not hold its container (or the worker) forever.
  for (const cli of stopped.splice(0)) cli.kill('SIGKILL');
  for (const repo of images) {
    for (const image of await docker().listImages({ filters: JSON.stringify({ reference: [repo] }) })) {
      await docker().getImage(image.Id).remove({ force: true });
    }
  }
});

const lockFiles = () => readdirSync(locks).filter((n) => n.endsWith('.lock'));

/** Resolves as soon as a lock file exists in the test's lock folder (fs.watch, so within a millisecond or so). */
function lockTaken(timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const watcher = watch(locks, () => {
      if (lockFiles().length > 0) done();
    });
    const timer = setTimeout(
      () => done(new Error(`no lock file appeared in ${locks} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    function done(error?: Error) {
      watcher.close();
      clearTimeout(timer);
      if (error) reject(error);
      else resolve();
    }
    if (lockFiles().length > 0) done();
  });
}

/**
 * Starts a firebreak and freezes it (SIGSTOP) at a moment while it holds its lock: as soon as the
 * lock file exists, or once its stderr matches `at`. A slow run, made slow on purpose, so that
 * the second run surely arrives while the first is at that moment, however loaded the machine.
 */
async function startHeld(args: string[], at?: RegExp): Promise<StartedCli> {
  const cli = startCli(args, { env });
  stopped.push(cli);
  await (at ? cli.stderrMatches(at) : lockTaken());
  cli.kill('SIGSTOP');
  return cli;
}

/** Starts the second run, waits (bounded by the CLI's own timeout) until it says it waits for `first`, then lets `first` go on. */
async function secondWaitsFor(first: StartedCli, playbook: string, args: string[]): Promise<StartedCli> {
  const second = startCli(args, { env });
  // Resolves on the line, or when the second exits without it (then the assertions after say why).
  await second.stderrMatches(waited(playbook, first.pid));
  resume(first);
  return second;
}

function resume(cli: StartedCli): void {
  cli.kill('SIGCONT');
  stopped.splice(stopped.indexOf(cli), 1);
}

interface StepTimes {
  uses: string;
  start: number;
  end: number;
}
/** Every step the run actually ran, with its start and end, from the bundle's run.json. */
function stepsOf(stdout: string): StepTimes[] {
  const run = unpackBundle(bundleFromOutput(stdout).path).json('data/run.json');
  return run.targets.flatMap((t: { steps: Array<{ uses: string; startedAt?: string; endedAt?: string }> }) =>
    t.steps
      .filter((s) => s.startedAt)
      .map((s) => ({ uses: s.uses, start: Date.parse(s.startedAt!), end: Date.parse(s.endedAt!) })),
  );
}

/** One run's steps all end before any of the other's start: no interleaving, judged by the bundles. */
function expectInSequence(first: string, second: string): void {
  const a = stepsOf(first);
  const b = stepsOf(second);
  expect(a.length).toBeGreaterThan(0);
  expect(b.length).toBeGreaterThan(0);
  const lastOfFirst = Math.max(...a.map((s) => s.end));
  const firstOfSecond = Math.min(...b.map((s) => s.start));
  expect(
    lastOfFirst,
    `first run's last step ended ${new Date(lastOfFirst).toISOString()}, second's first began ${new Date(firstOfSecond).toISOString()}`,
  ).toBeLessThanOrEqual(firstOfSecond);
}

const waited = (playbook: string, pid: number) =>
  new RegExp(`waiting for another firebreak \\(${playbook}, pid ${pid}\\) to finish`);

describe('two firebreak runs on one container', () => {
  it('an isolate started during a quarantine waits for it, then isolates the stopped container', () =>
    trial('concurrent', 'isolate during quarantine', async () => {
      const net = await createNetwork();
      const container = await startContainer({ networks: [{ name: net.name }] });
      const repo = `fb-test-quarantine/${uniqueName('c')}`;
      images.push(repo);

      // Held between its commit and its stop: an isolate slipped in there would be recorded by neither run.
      const quarantine = await startHeld(
        ['quarantine', container.name, '--grace', '2s', '--repository', repo, '--evidence-dir', evidence],
        /commit succeeded/,
      );
      const second = await secondWaitsFor(quarantine, 'quarantine', [
        'isolate',
        container.name,
        '--evidence-dir',
        evidence,
      ]);
      const [quarantined, isolate] = await Promise.all([quarantine.done, second.done]);

      expect(quarantined.code, quarantined.stderr).toBe(0);
      expect(isolate.code, isolate.stderr).toBe(0);
      expect(isolate.stderr).toMatch(waited('quarantine', quarantine.pid));
      expectInSequence(quarantined.stdout, isolate.stdout);
      const after = await inspectContainer(container.id);
      expect(after.State.Running).toBe(false);
      expect(Object.keys(after.NetworkSettings.Networks)).toEqual([]);
      expect(await docker().listImages({ filters: JSON.stringify({ reference: [repo] }) })).toHaveLength(1);
      expect(lockFiles()).toEqual([]);
    }));

  it('a quarantine started during forensics --pause waits for the thaw, then stops the container', () =>
    trial('concurrent', 'quarantine during forensics --pause', async () => {
      // Enough filesystem that the paused reading takes a moment.
      const container = await startContainer({
        cmd: ['sh', '-c', 'dd if=/dev/urandom of=/big bs=1M count=8 2>/dev/null; touch /ready; sleep 3600'],
      });
      await waitForFile(container.id, '/ready');
      const repo = `fb-test-quarantine/${uniqueName('c')}`;
      images.push(repo);

      // Held while the container is paused and its files are being read.
      const forensics = await startHeld(
        ['forensics', container.name, '--pause', '--compression', 'none', '--evidence-dir', evidence],
        /diff succeeded/,
      );
      const second = await secondWaitsFor(forensics, 'forensics', [
        'quarantine',
        container.name,
        '--grace',
        '1s',
        '--repository',
        repo,
        '--evidence-dir',
        evidence,
      ]);
      const [collected, quarantine] = await Promise.all([forensics.done, second.done]);

      expect(collected.code, collected.stderr).toBe(0);
      expect(quarantine.code, quarantine.stderr).toBe(0);
      expect(quarantine.stderr).toMatch(waited('forensics', forensics.pid));
      expectInSequence(collected.stdout, quarantine.stdout);
      // The quarantine found a thawed container: its stop did not have to unpause it first.
      expect(quarantine.stdout).not.toContain('unpaused (it was paused)');
      const after = await inspectContainer(container.id);
      expect(after.State.Paused).toBe(false);
      expect(after.State.Running).toBe(false);
      expect(await docker().listImages({ filters: JSON.stringify({ reference: [repo] }) })).toHaveLength(1);
    }));

  it('a throttle started during another throttle waits, records the original limits, and a revert restores them', () =>
    trial('concurrent', 'throttle during throttle', async () => {
      const container = await startContainer();
      const first = await startHeld([
        'throttle',
        container.name,
        '--cpus',
        '0.5',
        '--memory',
        '64m',
        '--evidence-dir',
        evidence,
      ]);
      // Frozen while holding the lock, before it changed anything.
      expect((await inspectContainer(container.id)).HostConfig.NanoCpus).toBe(0);
      const second = await secondWaitsFor(first, 'throttle', [
        'throttle',
        container.name,
        '--cpus',
        '0.25',
        '--memory',
        '32m',
        '--evidence-dir',
        evidence,
      ]);
      const [a, b] = await Promise.all([first.done, second.done]);

      expect(a.code, a.stderr).toBe(0);
      expect(b.code, b.stderr).toBe(0);
      expect(b.stderr).toMatch(waited('throttle', first.pid));
      expectInSequence(a.stdout, b.stdout);
      let limits = (await inspectContainer(container.id)).HostConfig;
      expect([limits.NanoCpus, limits.Memory]).toEqual([250_000_000, 32 * 1024 * 1024]);
      // The second saw the first's limits as they were when it acted.
      expect(b.stdout).toMatch(/was cpus 0\.5, memory 64m/);

      // Because the second read the first's finished record, one revert goes back to no limits at all.
      const revert = await runCli(['throttle', container.name, '--revert', '--evidence-dir', evidence], { env });
      expect(revert.code, revert.stdout + revert.stderr).toBe(0);
      limits = (await inspectContainer(container.id)).HostConfig;
      // Docker cannot lift a limit once set: "no limit" comes back as the host's whole capacity.
      const host = await docker().info();
      expect([limits.NanoCpus, limits.Memory]).toEqual([host.NCPU * 1e9, host.MemTotal]);
    }));

  it('a second run refuses after the configured wait with one line naming the holder, and changes nothing', () =>
    trial('concurrent', 'refusal after FIREBREAK_LOCK_WAIT=1s', async () => {
      const container = await startContainer();
      const first = await startHeld(['throttle', container.name, '--cpus', '0.5', '--evidence-dir', evidence]);
      const began = Date.now();
      const second = await runCli(['throttle', container.name, '--cpus', '0.25', '--evidence-dir', evidence], {
        env: { ...env, FIREBREAK_LOCK_WAIT: '1s' },
      });
      const took = Date.now() - began;

      expect(second.code).toBe(1);
      // Far under the default minute (a loaded machine takes seconds just to start the CLI).
      expect(took).toBeLessThan(30_000);
      const lines = second.stderr.trim().split('\n');
      expect(lines[0]).toMatch(waited('throttle', first.pid));
      expect(lines.slice(1)).toEqual([
        expect.stringMatching(
          new RegExp(
            `^firebreak: ${container.name} is being changed by another firebreak \\(throttle, pid ${first.pid}, since [0-9T:.Z-]+\\); waited 1\\.00s, nothing was changed; run again once it has finished`,
          ),
        ),
      ]);
      expect(second.stdout).toBe('');
      expect((await inspectContainer(container.id)).HostConfig.NanoCpus).toBe(0);

      resume(first);
      expect((await first.done).code).toBe(0);
      expect((await inspectContainer(container.id)).HostConfig.NanoCpus).toBe(500_000_000);
    }));

  it('a lock left by a run killed with SIGKILL is taken over at once', () =>
    trial('concurrent', 'stale lock of a SIGKILLed run', async () => {
      const container = await startContainer();
      const dead = await startHeld(['throttle', container.name, '--cpus', '0.5', '--evidence-dir', evidence]);
      dead.kill('SIGKILL');
      await dead.done;
      stopped.splice(stopped.indexOf(dead), 1);
      expect(lockFiles()).toHaveLength(1);

      const began = Date.now();
      const next = await runCli(['throttle', container.name, '--cpus', '0.25', '--evidence-dir', tempDir()], { env });
      expect(next.code, next.stderr).toBe(0);
      expect(next.stderr).not.toMatch(/waiting for another firebreak/);
      expect(Date.now() - began).toBeLessThan(30_000);
      expect((await inspectContainer(container.id)).HostConfig.NanoCpus).toBe(250_000_000);
      expect(lockFiles()).toEqual([]);
    }));
});

/** Waits (bounded) until the container's command has written `path`. */
async function waitForFile(id: string, path: string): Promise<void> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
    try {
      await docker().getContainer(id).getArchive({ path });
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`${path} did not appear in ${id}`);
}
