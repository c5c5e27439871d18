import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { bundleFromOutput, tempDir, unpackBundle } from './bundle-files.js';
import { runCli } from './cli.js';
import { docker, inspectContainer, startContainer, uniqueName, useHarness } from './harness.js';

useHarness();

const mi = 1024 ** 2;
const gi = 1024 ** 3;

let evidence: string;
beforeEach(() => {
  evidence = tempDir();
});

async function limitsOf(name: string) {
  const { HostConfig: h } = await inspectContainer(name);
  return {
    nanoCpus: h.NanoCpus,
    memory: h.Memory,
    memorySwap: h.MemorySwap,
    pidsLimit: h.PidsLimit ?? 0,
    cpuShares: h.CpuShares,
  };
}

async function throttle(...args: string[]) {
  const result = await runCli(['throttle', ...args, '--evidence-dir', evidence]);
  expect(result.stderr).not.toMatch(/firebreak:/);
  return result;
}

function runRecord(stdout: string) {
  return unpackBundle(bundleFromOutput(stdout).path).json('data/run.json');
}

/** A container that already runs with limits, as most production containers do. */
const limited = () =>
  startContainer({
    hostConfig: { NanoCpus: 1e9, Memory: 256 * mi, MemorySwap: 512 * mi, PidsLimit: 200, CpuShares: 512 },
  });

describe('firebreak throttle', () => {
  it('applies cpus, memory and pids limits, as the engine reports them', async () => {
    const c = await startContainer();
    const result = await throttle(c.name, '--cpus', '0.5', '--memory', '512m', '--pids', '100');
    expect(result.code).toBe(0);
    const info = await inspectContainer(c.name);
    expect(info.HostConfig.NanoCpus).toBe(500_000_000);
    expect(info.HostConfig.Memory).toBe(512 * mi);
    expect(info.HostConfig.PidsLimit).toBe(100);
    // Docker 20.10 refuses memory alone here (MemorySwap 0 < Memory); swap follows at 2 x memory, as docker run does.
    expect(info.HostConfig.MemorySwap).toBe(gi);
    expect(info.State.Status).toBe('running');
  });

  it('records the previous limits in the bundle as undo data', async () => {
    const c = await limited();
    const result = await throttle(c.name, '--cpus', '0.25', '--pids', '50');
    const step = runRecord(result.stdout).targets[0].steps.find((s: { id: string }) => s.id === 'throttle');
    expect(step.changed).toBe(true);
    expect(step.undo).toEqual({
      previous: { nanoCpus: 1e9, pidsLimit: 200 },
      applied: { nanoCpus: 2.5e8, pidsLimit: 50 },
    });
    expect(step.outputs).toMatchObject({ cpus: '0.25', pids: 50, memory: 256 * mi });
  });

  it('restores the recorded previous limits with --revert', async () => {
    const c = await limited();
    const before = await limitsOf(c.name);
    expect(
      (await throttle(c.name, '--cpus', '0.5', '--memory', '128m', '--pids', '50', '--cpu-shares', '256')).code,
    ).toBe(0);
    expect(await limitsOf(c.name)).toEqual({
      nanoCpus: 5e8,
      memory: 128 * mi,
      memorySwap: 256 * mi,
      pidsLimit: 50,
      cpuShares: 256,
    });

    const reverted = await throttle(c.name, '--revert');
    expect(reverted.code).toBe(0);
    expect(await limitsOf(c.name)).toEqual(before);
    expect(reverted.stdout).toMatch(/ok {3}verify: cpus 1, memory 256m/);
  });

  it('succeeds when the limits are already as asked, says so, and records nothing to undo', async () => {
    const c = await limited();
    const before = await limitsOf(c.name);
    expect((await throttle(c.name, '--cpus', '0.5', '--pids', '50')).code).toBe(0);
    const again = await throttle(c.name, '--cpus', '0.5', '--pids', '50');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/throttle \(no change\): already cpus 0\.5, pids 50/);
    expect(
      runRecord(again.stdout).targets[0].steps.find((s: { id: string }) => s.id === 'throttle').undo,
    ).toBeUndefined();

    // The no-op left no record, so the revert finds the first throttle's: the original limits come back.
    expect((await throttle(c.name, '--revert')).code).toBe(0);
    expect(await limitsOf(c.name)).toEqual(before);
  });

  it('succeeds when reverting twice and says the limits were already restored', async () => {
    const c = await limited();
    const before = await limitsOf(c.name);
    await throttle(c.name, '--cpus', '0.5');
    expect((await throttle(c.name, '--revert')).code).toBe(0);
    const again = await throttle(c.name, '--revert');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/revert \(no change\): already cpus 1/);
    expect(await limitsOf(c.name)).toEqual(before);
  });

  it('reverts to the record of the bundle named with --from', async () => {
    const c = await limited();
    const first = await throttle(c.name, '--cpus', '0.5');
    await throttle(c.name, '--cpus', '0.25');
    expect((await limitsOf(c.name)).nanoCpus).toBe(2.5e8);
    const reverted = await throttle(c.name, '--revert', '--from', bundleFromOutput(first.stdout).path);
    expect(reverted.code).toBe(0);
    expect((await limitsOf(c.name)).nanoCpus).toBe(1e9);
  });

  it('lifts limits a container never had as far as Docker allows: host CPUs and memory, no pids limit', async () => {
    const c = await startContainer();
    await throttle(c.name, '--cpus', '0.5', '--memory', '64m', '--pids', '20');
    const reverted = await throttle(c.name, '--revert');
    expect(reverted.code).toBe(0);
    const host = await docker().info();
    const after = await limitsOf(c.name);
    expect(after.nanoCpus).toBe(host.NCPU * 1e9);
    expect(after.memory).toBe(host.MemTotal);
    expect(after.pidsLimit).toBe(0);
    expect(reverted.stdout).toMatch(/Docker cannot lift one: set to all \d+ host CPUs/);
  });

  it('raises memory alone on a container whose memory-swap is set, moving memory-swap with it', async () => {
    const c = await limited();
    const result = await throttle(c.name, '--memory', '1g');
    expect(result.code).toBe(0);
    expect(await limitsOf(c.name)).toMatchObject({ memory: gi, memorySwap: 2 * gi });
  });

  it('fails the step when no throttle record exists to revert to, naming the fix', async () => {
    const c = await startContainer();
    const result = await runCli(['throttle', c.name, '--revert', '--evidence-dir', evidence]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /FAIL revert: container\.update on \S+: no container\.update record that changed container [0-9a-f]{12} .*pass --from BUNDLE/,
    );
  });

  it('changes nothing and writes no bundle with --dry-run, printing each step with its inputs', async () => {
    const c = await startContainer();
    const before = await inspectContainer(c.name);
    const result = await throttle(c.name, '--cpus', '0.5', '--memory', '512m', '--dry-run');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /throttle \[container\.update\] limit cpus 0\.5, memory 512m \(memory-swap follows: 2 x memory\) \(changes state\)/,
    );
    expect(await inspectContainer(c.name)).toEqual(before);
    expect(readdirSync(evidence)).toEqual([]);
  });

  it('exits 2 on a size it cannot read, before touching the engine', async () => {
    const result = await runCli(['throttle', uniqueName('nobody'), '--memory', '5x', '--evidence-dir', evidence]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/"5x" is not a size/);
  });

  it('exits 2 when given no limit and no --revert, or a limit with --revert', async () => {
    const c = await startContainer();
    const none = await runCli(['throttle', c.name, '--evidence-dir', evidence]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/give at least one of --cpus/);
    const both = await runCli(['throttle', c.name, '--revert', '--cpus', '1', '--evidence-dir', evidence]);
    expect(both.code).toBe(2);
  });

  it('throttles every container a --filter selects and lists them before acting', async () => {
    const group = uniqueName('group');
    const a = await startContainer({ labels: { 'firebreak.group': group } });
    const b = await startContainer({ labels: { 'firebreak.group': group } });
    const result = await throttle('--filter', `label=firebreak.group=${group}`, '--pids', '30');
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/2 containers matched: /);
    for (const c of [a, b]) expect((await limitsOf(c.name)).pidsLimit).toBe(30);
  });

  it('sets memory-swap as given, -1 meaning unlimited swap', async () => {
    const c = await startContainer();
    expect((await throttle(c.name, '--memory', '256m', '--memory-swap=-1')).code).toBe(0);
    expect(await limitsOf(c.name)).toMatchObject({ memory: 256 * mi, memorySwap: -1 });
  });
});

describe('assert.limits', () => {
  it('fails naming each limit the engine reports otherwise', async () => {
    const c = await startContainer({ hostConfig: { PidsLimit: 200 } });
    const file = join(evidence, 'check.yaml');
    writeFileSync(file, 'name: check\nsteps:\n  - uses: assert.limits\n    with: { cpus: 2, pids: 200, memory: 1g }\n');
    const result = await runCli(['run', file, c.name, '--evidence-dir', evidence]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /FAIL limits: assert\.limits on \S+: expected cpus 2, memory 1g, the engine reports cpus unlimited, memory unlimited/,
    );
  });
});

describe('throttle --revert after more than one throttle', () => {
  it('goes back to the limits before the first throttle, not to the one in between', async () => {
    const c = await limited();
    const original = await limitsOf(c.name);
    await throttle(c.name, '--cpus', '0.5', '--pids', '50');
    await new Promise((resolve) => setTimeout(resolve, 1100)); // a later bundle name
    await throttle(c.name, '--cpus', '0.25');
    const reverted = await throttle(c.name, '--revert');
    expect(reverted.code).toBe(0);
    expect(await limitsOf(c.name)).toEqual(original);
  });

  it('goes back to the original limits after two throttles ran at once, the second waiting for the first', async () => {
    const c = await limited();
    const original = await limitsOf(c.name);
    const [a, b] = await Promise.all([
      runCli(['throttle', c.name, '--cpus', '0.5', '--evidence-dir', evidence]),
      runCli(['throttle', c.name, '--cpus', '0.3', '--evidence-dir', evidence]),
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const reverted = await throttle(c.name, '--revert');
    expect(reverted.code).toBe(0);
    expect(await limitsOf(c.name)).toEqual(original);
  });
});
