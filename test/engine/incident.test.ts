// `incident show` joins the isolate, forensics and restore runs of one incident into one view.
import { describe, expect, it } from 'vitest';
import { bundleFromOutput, tempDir } from './bundle-files.js';
import { runCli } from './cli.js';
import { createNetwork, startContainer, useHarness } from './harness.js';

useHarness();

describe('firebreak incident show', () => {
  it('joins isolate, forensics and restore of one incident, with what is left to undo at each point', async () => {
    const network = await createNetwork();
    const container = await startContainer({ networks: [{ name: network.name, aliases: ['web'] }] });
    const evidence = tempDir();
    const incident = `INC-SHOW-${container.name.slice(-8)}`;
    const cli = (...args: string[]) => runCli([...args, '--evidence-dir', evidence]);

    const isolated = await cli('isolate', container.name, '--incident', incident);
    expect(isolated.code, isolated.stderr).toBe(0);
    const isolateBundle = bundleFromOutput(isolated.stdout).path;
    const forensics = await cli('forensics', container.name, '--no-export', '--incident', incident);
    expect(forensics.code, forensics.stderr).toBe(0);

    const open = await cli('incident', 'show', incident);
    expect(open.code, open.stderr).toBe(0);
    expect(open.stdout).toContain(`- ${container.name} is disconnected from ${network.name} (since `);
    expect(open.stdout).toContain(`to undo: \`firebreak restore-network ${container.name} --from ${isolateBundle}\``);
    expect(open.stdout).toMatch(
      new RegExp(`^\\| ${container.name} \\| ${container.id.slice(0, 12)} \\| running; no networks \\|$`, 'm'),
    );

    // No --incident: restore joins the incident of the record it reads.
    const restored = await cli('restore-network', container.name);
    expect(restored.code, restored.stderr).toBe(0);

    const done = await cli('incident', 'show', incident, '--json');
    expect(done.code, done.stderr).toBe(0);
    const view = JSON.parse(done.stdout);
    expect(view).toMatchObject({ schema: 'firebreak.incident/v1', status: 'succeeded', incident, undo: [] });
    expect(view.runs.map((r: { playbook: string }) => r.playbook)).toEqual(['isolate', 'forensics', 'restore-network']);
    expect(view.runs.every((r: { verified: boolean }) => r.verified)).toBe(true);
    const order = view.timeline.map((row: { playbook: string; uses: string }) => `${row.playbook} ${row.uses}`);
    expect(order.indexOf('isolate network.disconnect')).toBeLessThan(order.indexOf('forensics evidence.top'));
    expect(order.indexOf('forensics evidence.diff')).toBeLessThan(order.indexOf('restore-network network.restore'));
    expect(view.containers).toEqual([
      expect.objectContaining({ id: container.id, state: 'running', networks: [network.name] }),
    ]);
  });

  it('exits 4 naming the folders when the incident has no bundle', async () => {
    const evidence = tempDir();
    const result = await runCli(['incident', 'show', 'INC-NONE', '--evidence-dir', evidence]);
    expect(result.code).toBe(4);
    expect(result.stderr).toContain(`no bundle of incident INC-NONE in ${evidence}`);
  });
});
