// The default evidence folder is per user, not ./evidence: a restore run from another directory
// finds the isolate record there.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleFromOutput, tempDir } from './bundle-files.js';
import { runCli } from './cli.js';
import { createNetwork, inspectContainer, startContainer, useHarness } from './harness.js';

useHarness();

describe('the default evidence folder', () => {
  it('holds the isolate record that restore-network, run from another directory, finds', async () => {
    const network = await createNetwork();
    const container = await startContainer({ networks: [{ name: network.name, aliases: ['web'] }] });
    const state = tempDir('firebreak-state-');
    // No --evidence-dir and no FIREBREAK_EVIDENCE_DIR: the XDG state folder decides.
    const env = { FIREBREAK_EVIDENCE_DIR: undefined, XDG_STATE_HOME: state };
    const [here, there] = [tempDir('firebreak-cwd-'), tempDir('firebreak-cwd-')];

    const isolated = await runCli(['isolate', container.name, '--incident', 'INC-HOME'], { cwd: here, env });
    expect(isolated.code, isolated.stderr).toBe(0);
    const folder = join(state, 'firebreak', 'evidence');
    expect(statSync(folder).mode & 0o777).toBe(0o700);
    expect(bundleFromOutput(isolated.stdout).path.startsWith(`${folder}/`)).toBe(true);
    expect(isolated.stdout).toContain(`evidence folder ${folder}\n`);
    expect(readdirSync(here)).toEqual([]);
    expect(Object.keys((await inspectContainer(container.name)).NetworkSettings.Networks)).toEqual([]);

    const restored = await runCli(['restore-network', container.name], { cwd: there, env });
    expect(restored.code, restored.stdout + restored.stderr).toBe(0);
    expect(restored.stdout).toContain(`record from ${folder}/`);
    expect(restored.stdout).toMatch(/\(incident INC-HOME\)/);
    expect(Object.keys((await inspectContainer(container.name)).NetworkSettings.Networks)).toEqual([network.name]);
    expect(readdirSync(there)).toEqual([]);
  });
});
