// Quarantine of a paused container: it is thawed first, so its process can honour SIGTERM.
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { bundleFromOutput, tempDir, unpackBundle } from './bundle-files.js';
import { runCli } from './cli.js';
import { containerLogs, docker, inspectContainer, startContainer, uniqueName, useHarness } from './harness.js';

useHarness();

let evidence: string;
beforeEach(() => {
  evidence = tempDir();
});

// The images quarantine commits carry the incident, which is how they are found and removed.
const incidents: string[] = [];
afterAll(async () => {
  for (const incident of incidents) {
    const images = await docker().listImages({
      filters: JSON.stringify({ label: [`firebreak.incident=${incident}`] }),
    });
    for (const image of images) await docker().getImage(image.Id).remove({ force: true });
  }
});

async function waitForOutput(name: string, text: string): Promise<void> {
  for (const started = Date.now(); Date.now() - started < 20_000;) {
    if ((await containerLogs(name)).stdout.includes(text)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${name} never printed "${text}"`);
}

describe('firebreak quarantine of a paused container', () => {
  it('unpauses it first, then stops it gracefully: a process that exits 0 on SIGTERM exits 0, not 137', async () => {
    // `sleep & wait` so that the trap runs at once, not after the current sleep.
    const c = await startContainer({
      cmd: ['sh', '-c', 'trap "echo got-term; exit 0" TERM; echo ready; while :; do sleep 1 & wait $!; done'],
    });
    await waitForOutput(c.name, 'ready');
    await docker().getContainer(c.id).pause();
    const incident = uniqueName('INC-TEST');
    incidents.push(incident);

    const started = Date.now();
    const result = await runCli([
      'quarantine',
      c.name,
      '--yes',
      '--grace',
      '20s',
      '--incident',
      incident,
      '--evidence-dir',
      evidence,
    ]);
    const elapsed = Date.now() - started;
    expect(result.stderr).not.toMatch(/firebreak:/);
    expect(result.code).toBe(0);

    const info = await inspectContainer(c.name);
    expect(info.State.Status).toBe('exited');
    expect(info.State.ExitCode).toBe(0);
    expect((await containerLogs(c.name)).stdout).toContain('got-term');
    // SIGKILL would have come only after the whole grace.
    expect(elapsed).toBeLessThan(20_000);
    expect(`${result.stdout}${result.stderr}`).not.toMatch(/docker unpause/);

    const run = unpackBundle(bundleFromOutput(result.stdout).path).json('data/run.json');
    const stop = run.targets[0].steps.find((s: { id: string }) => s.id === 'stop');
    expect(stop.undo).toMatchObject({ previous: 'paused', unpaused: true });
    expect(stop.outputs['exit-code']).toBe(0);
    expect(stop.note).toMatch(/^unpaused \(it was paused\), then stopped in .*, exit code 0/);
    // The evidence before the stop was read while it was still paused.
    expect(run.targets[0].steps.find((s: { id: string }) => s.id === 'snapshot').note).toMatch(/^paused/);
  });
});
