// Containment never depends on the evidence disk, the terminal or luck: a full disk, an unusable
// folder and a closed output pipe, each judged by the engine's own view and by what the bundle
// says. (Ctrl-C in the middle of a fleet isolate is among the interrupt trials, interrupt.test.ts.)
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bundleFromOutput, tempDir, unpackBundle } from '../engine/bundle-files.js';
import { RUN_JS, runCli, startCli } from '../engine/cli.js';
import { trial } from './ledger.js';
import { createNetwork, docker, inspectContainer, startContainer, uniqueName, useHarness } from '../engine/harness.js';

useHarness();

let evidence: string;
let fallback: string;
beforeEach(() => {
  evidence = tempDir();
  fallback = tempDir('firebreak-fallback-');
});

const networksOf = async (name: string) => Object.keys((await inspectContainer(name)).NetworkSettings.Networks).sort();

/** A small tmpfs of our own, filled to leave `free` bytes. */
function fullDisk(free: number): string {
  const mount = tempDir('firebreak-full-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mount]);
  mounts.push(mount);
  writeFileSync(join(mount, 'fill'), Buffer.alloc(256 * 1024 - free));
  return mount;
}
const mounts: string[] = [];
afterAll(() => {
  for (const mount of mounts) execFileSync('umount', ['-l', mount]);
});

describe('a full evidence disk', () => {
  for (const free of [0, 4096]) {
    it(`still isolates with ${free} bytes free, reports every step, names the folder and bytes needed, and exits 1`, () =>
      trial('full-disk', `${free} bytes free`, async () => {
        const net = await createNetwork();
        const container = await startContainer({ networks: [{ name: net.name }] });
        const dir = join(fullDisk(free), 'evidence');

        const result = await runCli(['run', 'unauthorized-access', container.name, '--evidence-dir', dir], {
          env: { FIREBREAK_FALLBACK_DIR: fallback },
        });

        expect(await networksOf(container.name)).toEqual([]);
        expect(result.code).toBe(1);
        expect(result.stdout).toMatch(/ok {3}disconnect: disconnected from /);
        expect(result.stdout).toContain(`EVIDENCE FOLDER UNUSABLE: ${dir} could not take the bundle`);
        expect(result.stderr).toMatch(
          new RegExp(`evidence folder ${dir} could not take the bundle: .*ENOSPC.*needs about \\d+ bytes`),
        );
        const bundle = bundleFromOutput(result.stdout);
        expect(bundle.path.startsWith(fallback)).toBe(true);
        const bag = unpackBundle(bundle.path);
        bag.sha256Check('manifest-sha256.txt');
        const run = bag.json('data/run.json');
        const disconnect = run.targets[0].steps.find((s: { id: string }) => s.id === 'disconnect');
        expect(disconnect.undo.attachments.map((a: { network: string }) => a.network)).toEqual([net.name]);
        // No truncated file passes for a bundle in the evidence folder.
        expect(existsSync(dir) ? readdirSync(dir).filter((n) => /\.tar(\.gz)?$/.test(n)) : []).toEqual([]);

        // And the record is found again where it went, so the isolation can be undone.
        const restored = await runCli(['restore-network', container.name, '--evidence-dir', dir], {
          env: { FIREBREAK_FALLBACK_DIR: fallback },
        });
        expect(await networksOf(container.name)).toEqual([net.name]);
        expect(restored.stdout).toContain(`record from ${bundle.path}`);
      }));
  }
});

describe('an evidence folder that can never hold a bundle', () => {
  let roMount: string;
  beforeAll(() => {
    roMount = tempDir('firebreak-ro-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,ro', 'tmpfs', roMount]);
    mounts.push(roMount);
  });

  const cases: Array<[string, () => string, RegExp]> = [
    ['a kernel pseudo-filesystem (/proc)', () => '/proc/firebreak-x', /\/proc is on a proc filesystem/],
    ['/sys', () => '/sys/firebreak-x', /\/sys is on a sysfs filesystem/],
    [
      'a file in the way',
      () => {
        const file = join(tempDir(), 'file');
        writeFileSync(file, 'x');
        return join(file, 'evidence');
      },
      /a file is in the way/,
    ],
    ['a read-only mount', () => join(roMount, 'evidence'), /mounted read-only/],
  ];
  for (const [what, dirOf, message] of cases) {
    it(`is refused before anything changes, exit 2, naming the cause: ${what}`, async () => {
      const net = await createNetwork();
      const container = await startContainer({ networks: [{ name: net.name }] });
      const result = await runCli(['isolate', container.name, '--evidence-dir', dirOf()], { timeoutMs: 15_000 });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(await networksOf(container.name)).toEqual([net.name]);
    });
  }
});

describe('records that restore reads', () => {
  it('restores from the newest isolate that disconnected something, not from a second isolate that found nothing', async () => {
    const net = await createNetwork();
    const container = await startContainer({ networks: [{ name: net.name }] });
    const first = await runCli(['isolate', container.name, '--evidence-dir', evidence, '--incident', 'INC-FIRST']);
    expect(first.code).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // a later bundle name
    const second = await runCli(['isolate', container.name, '--evidence-dir', evidence]);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('already isolated');

    const restored = await runCli(['restore-network', container.name, '--evidence-dir', evidence]);
    expect(restored.code).toBe(0);
    expect(await networksOf(container.name)).toEqual([net.name]);
    expect(restored.stdout).toContain(`record from ${bundleFromOutput(first.stdout).path}`);
    // It joins the incident of the record it undid.
    expect(restored.stdout).toContain('(incident INC-FIRST)');
  });

  it('refuses --from a missing bundle with exit 2 before anything changes', async () => {
    const container = await startContainer();
    const result = await runCli([
      'restore-network',
      container.name,
      '--from',
      join(evidence, 'nope.tar.gz'),
      '--evidence-dir',
      evidence,
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^firebreak: --from .*nope\.tar\.gz: bundle not found/);
    expect(readdirSync(evidence)).toEqual([]);
  });

  it('keeps a network named by its id prefix with --keep-network', async () => {
    const keep = await createNetwork();
    const cut = await createNetwork();
    const container = await startContainer({ networks: [{ name: keep.name }, { name: cut.name }] });
    const result = await runCli([
      'isolate',
      container.name,
      '--keep-network',
      keep.id.slice(0, 12),
      '--evidence-dir',
      evidence,
    ]);
    expect(result.code).toBe(0);
    expect(await networksOf(container.name)).toEqual([keep.name]);
  });
});

describe('a closed output stream', () => {
  it('does not stop unpause: every container is thawed and the bundle is finished', async () => {
    const label = uniqueName('paused');
    const started = await Promise.all([1, 2, 3].map(() => startContainer({ labels: { 'firebreak.pipe': label } })));
    for (const c of started) await docker().getContainer(c.id).pause();

    const cli = startCli(
      ['unpause', '--filter', `label=firebreak.pipe=${label}`, '--yes', '--evidence-dir', evidence],
      { closeOutput: true },
    );
    const result = await cli.done;
    expect(result.code).toBe(0);
    for (const c of started) expect((await inspectContainer(c.id)).State.Paused).toBe(false);
    const names = readdirSync(evidence);
    expect(names.filter((n) => n.endsWith('.tar.gz'))).toHaveLength(1);
    expect(names.filter((n) => n.endsWith('.partial') || n.startsWith('.'))).toEqual([]);
  });
});

describe('the confirmation prompt on a terminal', () => {
  /** The CLI under `script`, which gives it a pseudo-terminal; answers once the prompt shows. */
  function answerPrompt(args: string[], answer: string): Promise<{ code: number | null; output: string }> {
    const command = ['node', RUN_JS, ...args].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    let answered = false;
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (!answered && output.includes('[y/N]')) {
        answered = true;
        child.stdin.write(answer);
      }
    });
    return new Promise((resolve) => child.on('close', (code) => resolve({ code, output })));
  }

  for (const [what, answer] of [
    ['answering n', 'n\r'],
    ['Ctrl-C', '\u0003'],
  ] as const) {
    it(`exits 130 and changes nothing after ${what}`, async () => {
      const label = uniqueName('prompt');
      const started = await Promise.all([1, 2].map(() => startContainer({ labels: { 'firebreak.prompt': label } })));
      const result = await answerPrompt(
        ['pause', '--filter', `label=firebreak.prompt=${label}`, '--evidence-dir', evidence],
        answer,
      );
      expect(result.code).toBe(130);
      expect(result.output).toContain('not confirmed; nothing was changed');
      for (const c of started) expect((await inspectContainer(c.id)).State.Paused).toBe(false);
    });
  }
});

describe('messages', () => {
  it('name the step type and the container, never its 64-character id', async () => {
    const container = await startContainer({ hostConfig: { NetworkMode: 'host' } });
    const result = await runCli(['isolate', container.name, '--evidence-dir', evidence]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      `network.disconnect on ${container.name}: the container uses the host network namespace`,
    );
    expect(result.stdout + result.stderr).not.toMatch(/[0-9a-f]{64}(?! *$)/m);
  });

  it('show no stack trace for a container named debug', async () => {
    const result = await runCli(['isolate', 'debug', '--filter', 'nonsense', '--evidence-dir', evidence]);
    expect(result.code).toBe(2);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
