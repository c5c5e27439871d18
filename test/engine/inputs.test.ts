import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from './bundle-files.js';
import { runCli } from './cli.js';
import { inspectContainer, startContainer, useHarness } from './harness.js';

useHarness();

let evidence: string;
beforeEach(() => {
  evidence = join(tempDir(), 'evidence');
});

const written = () => (existsSync(evidence) ? readdirSync(evidence) : []);
const momentHint = 'expected a duration like 2h, a time like 2026-12-01T10:00:00Z, or Unix seconds';

describe("a bad flag value is exit 2 under the flag's name, before anything changes", () => {
  it('names --since for forensics --since yesterday, pauses nothing and writes no bundle', async () => {
    const container = await startContainer();
    const result = await runCli([
      'forensics',
      container.name,
      '--since',
      'yesterday',
      '--pause',
      '--evidence-dir',
      evidence,
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`firebreak: --since "yesterday": ${momentHint}\n`);
    expect(result.stdout).toBe('');
    expect(written()).toEqual([]);
    const state = (await inspectContainer(container.name)).State;
    expect({ running: state.Running, paused: state.Paused }).toEqual({ running: true, paused: false });
  });

  it('names both flags when --since is later than --until, and writes no bundle', async () => {
    const container = await startContainer();
    const result = await runCli([
      'forensics',
      container.name,
      '--since',
      '1h',
      '--until',
      '2h',
      '--evidence-dir',
      evidence,
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('firebreak: --since "1h" is later than --until "2h"\n');
    expect(written()).toEqual([]);
  });

  it('names --param since when run is given the same value as a playbook parameter', async () => {
    const container = await startContainer();
    const result = await runCli([
      'run',
      'forensics',
      container.name,
      '--param',
      'since=yesterday',
      '--evidence-dir',
      evidence,
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`firebreak: --param since "yesterday": ${momentHint}\n`);
    expect(written()).toEqual([]);
  });

  it('is found before the engine is asked anything: exit 2, not 3, with an engine that is not there', async () => {
    const result = await runCli([
      'forensics',
      'web-1',
      '--since',
      'yesterday',
      '--host',
      'unix:///nonexistent.sock',
      '--evidence-dir',
      evidence,
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`firebreak: --since "yesterday": ${momentHint}\n`);
  });

  it('names --grace for a quarantine grace past what a stop may wait, and leaves the container running', async () => {
    const container = await startContainer();
    const result = await runCli(['quarantine', container.name, '--grace', '10m', '--evidence-dir', evidence]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('firebreak: --grace "10m": longer than the 5m a stop may wait\n');
    expect((await inspectContainer(container.name)).State.Running).toBe(true);
    expect(written()).toEqual([]);
  });
});

describe('playbooks validate refuses what would misbehave at run time, exit 2 in one line', () => {
  const playbook = (name: string, text: string) => {
    const file = join(tempDir(), name);
    writeFileSync(file, text);
    return file;
  };

  it('refuses timeout: 600h, which setTimeout would fire at once, naming the maximum', async () => {
    const file = playbook('long.yaml', 'name: long\nsteps:\n  - uses: evidence.inspect\n    timeout: 600h\n');
    const result = await runCli(['playbooks', 'validate', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `firebreak: ${file}:4:14: steps[0].timeout: "600h" is longer than a timer can wait: at most 596h (about 24.8 days)\n`,
    );
  });

  it('refuses timeout: 0s and an unclosed ${{', async () => {
    const zero = playbook('zero.yaml', 'name: zero\nsteps:\n  - uses: evidence.inspect\n    timeout: 0s\n');
    expect(await runCli(['playbooks', 'validate', zero])).toMatchObject({
      code: 2,
      stderr: `firebreak: ${zero}:4:14: steps[0].timeout: a timeout must be longer than 0 (at least 1ms)\n`,
    });
    const open = playbook(
      'open.yaml',
      'name: open\nsteps:\n  - uses: note\n    with: { text: "on ${{ target.name" }\n',
    );
    expect(await runCli(['playbooks', 'validate', open])).toMatchObject({
      code: 2,
      stderr: `firebreak: ${open}:4:19: steps[0].with.text: "\${{ target.name": a \${{ without its closing }}\n`,
    });
  });

  it('refuses an alias bomb, an alias without an anchor and a directory, naming the file', async () => {
    const levels = ['a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (const [name, prev] of [
      ['b', 'a'],
      ['c', 'b'],
      ['d', 'c'],
      ['e', 'd'],
      ['f', 'e'],
      ['g', 'f'],
    ])
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    const bomb = playbook('bomb.yaml', `name: bomb\n${levels.join('\n')}\nsteps:\n  - uses: evidence.inspect\n`);
    const bombed = await runCli(['playbooks', 'validate', bomb]);
    expect(bombed.code).toBe(2);
    expect(bombed.stderr).toBe(
      `firebreak: ${bomb}: not a usable playbook: its YAML aliases copy values more than 100 times (an alias bomb?); write the values out\n`,
    );

    const alias = playbook('alias.yaml', 'name: x\nsteps:\n  - uses: note\n    with: { text: *nope }\n');
    expect(await runCli(['playbooks', 'validate', alias])).toMatchObject({
      code: 2,
      stderr: `firebreak: ${alias}:4:19: not valid YAML: alias *nope has no anchor &nope before it\n`,
    });

    const folder = join(tempDir(), 'folder.yaml');
    mkdirSync(folder);
    expect(await runCli(['run', folder, 'web-1', '--evidence-dir', evidence])).toMatchObject({
      code: 2,
      stderr: `firebreak: ${folder}: is a directory, not a playbook file\n`,
    });
  });
});
