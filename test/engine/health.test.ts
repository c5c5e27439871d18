import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { bundleFromOutput, tempDir, unpackBundle } from './bundle-files.js';
import { runCli } from './cli.js';
import { inspectContainer, startContainer, useHarness } from './harness.js';

useHarness();

let evidence: string;
beforeEach(() => {
  evidence = tempDir();
});

function playbook(step: string): string {
  const file = join(evidence, 'health.yaml');
  writeFileSync(file, `name: health-check\nsteps:\n  - id: wait\n    uses: health.wait\n    with: ${step}\n`);
  return file;
}

async function run(file: string, name: string) {
  const result = await runCli(['run', file, name, '--evidence-dir', evidence], { timeoutMs: 80_000 });
  const step = unpackBundle(bundleFromOutput(result.stdout).path).json('data/run.json').targets[0].steps[0];
  return { ...result, step };
}

describe('health.wait', { timeout: 120_000 }, () => {
  it('judges a container without a healthcheck by a probe run inside it', async () => {
    // The probe's file appears a second after start: the first probes fail, a later one passes.
    const c = await startContainer({ cmd: ['sh', '-c', 'sleep 1; touch /tmp/up; exec sleep 3600'] });
    const { code, step } = await run(playbook('{ probe: [test, -f, /tmp/up], timeout: 30s }'), c.name);
    expect(code).toBe(0);
    expect(step.status).toBe('succeeded');
    expect(step.note).toMatch(/^healthy after .* \(probe/);
    expect((await inspectContainer(c.name)).Config.Healthcheck).toBeUndefined();
  });

  it('gives up at its timeout with the last probe results of the engine in the error and the outputs', async () => {
    const c = await startContainer({
      healthcheck: { Test: ['CMD-SHELL', 'echo no-db-yet; exit 1'], Interval: 1e9, Timeout: 10e9, Retries: 1 },
    });
    const { code, step } = await run(playbook('{ timeout: 3s, fail-fast: false }'), c.name);
    expect(code).toBe(1);
    expect(step.status).toBe('failed');
    expect(step.error).toMatch(/not healthy within 3\.00s: running, health (starting|unhealthy)/);
    // The engine's own record of the probes, kept by the step.
    const engineLog = (await inspectContainer(c.name)).State.Health!.Log;
    expect(engineLog.length).toBeGreaterThan(0);
    expect(step.outputs['health-log'].length).toBeGreaterThan(0);
    expect(step.outputs['health-log'][0]).toMatchObject({ exitCode: 1, output: expect.stringContaining('no-db-yet') });
    expect(step.error).toContain('no-db-yet');
  });

  it('refuses to guess for a container with no healthcheck, no probe and no running-for', async () => {
    const c = await startContainer();
    const { code, step } = await run(playbook('{ timeout: 5s }'), c.name);
    expect(code).toBe(1);
    expect(step.error).toMatch(/no healthcheck: give the step a probe/);
    expect(step.attempts).toBe(1);
  });
});
