// Security defaults, files: everything firebreak writes is 0600 and every folder it creates is
// 0700, even under `umask 000` (a cron job or a container entrypoint may run it that way): the
// bundle keeps the raw inspect document with its secrets. A folder that already existed keeps
// its mode and is warned about (see exposureOf in src/evidence/folder.ts); a lock folder others
// could write in is refused. Each case is a `security` trial in the fault ledger.
import { execFileSync as run, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { bundleFromOutput, tempDir } from '../engine/bundle-files.js';
import { RUN_JS, REPO_ROOT, type CliResult } from '../engine/cli.js';
import { createNetwork, inspectContainer, startContainer, useHarness, containerWithFile } from '../engine/harness.js';
import { trial } from './ledger.js';

useHarness();

interface Started {
  kill: (signal: NodeJS.Signals) => void;
  done: Promise<CliResult>;
}

/** The CLI as `sh -c 'umask 000; exec node bin/run.js ...'` runs it: the loosest umask there is. */
function underUmask000(args: string[], env: Record<string, string> = {}): Started {
  const quoted = [process.execPath, RUN_JS, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('sh', ['-c', `umask 000; exec ${quoted}`], {
    cwd: REPO_ROOT,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const done = new Promise<CliResult>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
  return { kill: (signal) => child.kill(signal), done };
}
const cli = (args: string[], env?: Record<string, string>) => underUmask000(args, env).done;

/** Mode bits (0o777) of every file and folder under `dir`, the folder itself as '.'. */
function modesUnder(dir: string): Record<string, string> {
  const modes: Record<string, string> = {};
  const walk = (at: string) => {
    modes[relative(dir, at) || '.'] = (statSync(at).mode & 0o777).toString(8);
    if (statSync(at).isDirectory()) for (const name of readdirSync(at)) walk(join(at, name));
  };
  walk(dir);
  return modes;
}
const only = (modes: Record<string, string>, mode: string) => Object.entries(modes).filter(([, m]) => m !== mode);
const dirMode = (path: string) => (statSync(path).mode & 0o777).toString(8);

/** Resolves with the modes under `dirs` once a spool file in `evidence` has grown past `bytes`. */
async function modesMidExport(
  evidence: string,
  dirs: string[],
  bytes: number,
  done: Promise<unknown>,
): Promise<Record<string, string>> {
  let finished = false;
  void done.then(() => (finished = true));
  for (const started = Date.now(); Date.now() - started < 30_000 && !finished;) {
    const spool = (existsSync(evidence) ? readdirSync(evidence) : []).find((n) => n.includes('.spool-'));
    if (spool && (statSync(join(evidence, spool), { throwIfNoEntry: false })?.size ?? 0) >= bytes) {
      return Object.assign(
        {},
        ...dirs.map((dir) => Object.fromEntries(Object.entries(modesUnder(dir)).map(([k, v]) => [join(dir, k), v]))),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no spool file grew past ${bytes} bytes before the run ended`);
}

let scratch: string;
beforeEach(() => {
  scratch = tempDir('firebreak-perm-');
});

describe('under umask 000', () => {
  it('a forensics run writes its partial bundle, spool, journal, run marker and lock 0600 in folders it makes 0700; bundle recover and report --output write 0600', () =>
    trial('security', 'modes under umask 000: run, kill, recover, report', async () => {
      const container = await containerWithFile(24);
      const evidence = join(scratch, 'new', 'nested', 'evidence');
      const locks = join(scratch, 'locks', 'new');
      // --pause takes the container's lock, so the lock file exists while the export streams.
      const run = underUmask000(['forensics', container.name, '--pause', '--evidence-dir', evidence], {
        FIREBREAK_LOCK_DIR: locks,
      });
      const during = await modesMidExport(
        evidence,
        [join(scratch, 'new'), join(scratch, 'locks')],
        4 * 1024 * 1024,
        run.done,
      );
      run.kill('SIGKILL');
      expect((await run.done).signal).toBe('SIGKILL');

      const names = Object.keys(during).map((p) => p.split('/').pop()!);
      expect(names.filter((n) => n.endsWith('.partial'))).toHaveLength(1);
      expect(names.some((n) => n.includes('.spool-'))).toBe(true);
      expect(names.some((n) => n.endsWith('.journal'))).toBe(true);
      expect(names.some((n) => n.endsWith('.lock'))).toBe(true);
      const folders = Object.keys(during).filter((p) => statSync(p).isDirectory());
      expect(folders.sort()).toEqual(
        [join(scratch, 'locks'), locks, join(scratch, 'new'), join(scratch, 'new', 'nested'), evidence].sort(),
      );
      for (const [path, mode] of Object.entries(during))
        expect(`${path} ${mode}`).toBe(`${path} ${folders.includes(path) ? '700' : '600'}`);

      // The container was left paused by the kill; recover does not need it.
      const recovered = await cli(['bundle', 'recover', '--evidence-dir', evidence]);
      expect(recovered.code, recovered.stderr).toBe(0);
      const bundle = bundleFromOutput(recovered.stdout);
      expect(only(modesUnder(evidence), '600')).toEqual([['.', '700']]);

      for (const format of ['md', 'html', 'json']) {
        const output = join(scratch, `report.${format}`);
        const report = await cli(['report', bundle.path, '--format', format, '--output', output]);
        expect(report.code, report.stderr).toBe(0);
        expect(dirMode(output)).toBe('600');
      }
    }));

  it('a finished run writes its bundle and sidecar 0600, and a bundle that falls back for a full disk goes to a fallback folder made 0700', () =>
    trial('security', 'modes under umask 000: fallback folder and bundle', async () => {
      const net = await createNetwork();
      const container = await startContainer({ networks: [{ name: net.name }] });
      const evidence = join(scratch, 'evidence');
      const first = await cli(['isolate', container.name, '--evidence-dir', evidence], {
        FIREBREAK_LOCK_DIR: join(scratch, 'locks'),
      });
      expect(first.code, first.stderr).toBe(0);
      expect(only(modesUnder(evidence), '600')).toEqual([['.', '700']]);
      expect(readdirSync(evidence)).toHaveLength(2);

      const full = fullDisk();
      const fallback = join(scratch, 'fallback', 'made');
      const result = await cli(
        [
          'restore-network',
          container.name,
          '--from',
          bundleFromOutput(first.stdout).path,
          '--evidence-dir',
          join(full, 'evidence'),
        ],
        {
          FIREBREAK_FALLBACK_DIR: fallback,
          FIREBREAK_LOCK_DIR: join(scratch, 'locks'),
        },
      );
      expect(result.code, result.stderr).toBe(1);
      expect(bundleFromOutput(result.stdout).path.startsWith(fallback)).toBe(true);
      expect(only(modesUnder(join(scratch, 'fallback')), '600')).toEqual([
        ['.', '700'],
        ['made', '700'],
      ]);
      expect(readdirSync(fallback)).toHaveLength(2);
      // A fallback folder only firebreak can reach draws no warning.
      expect(result.stdout).not.toMatch(/warning/);
    }));
});

const mounts: string[] = [];
afterAll(() => {
  for (const mount of mounts) run('umount', ['-l', mount]);
});

/** A small tmpfs of our own with no byte free. */
function fullDisk(): string {
  const mount = tempDir('firebreak-full-');
  run('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mount]);
  mounts.push(mount);
  writeFileSync(join(mount, 'fill'), Buffer.alloc(64 * 1024));
  return mount;
}

describe('an evidence folder that existed before, open to others', () => {
  for (const [mode, says] of [
    [0o755, 'its group and every user can list its bundles'],
    [0o777, 'its group and every user can list, delete or replace its bundles'],
  ] as const) {
    it(`is used, left at ${mode.toString(8)}, and warned about on stderr and in the journal; its bundle is 0600`, () =>
      trial('security', `existing evidence folder ${mode.toString(8)}`, async () => {
        const container = await startContainer();
        const evidence = join(scratch, 'shared');
        mkdirSync(evidence);
        chmodSync(evidence, mode);
        const result = await cli(['forensics', container.name, '--evidence-dir', evidence, '--json']);
        expect(result.code, result.stderr).toBe(0);
        const warning = `firebreak: warning: evidence folder ${evidence} (mode 0${mode.toString(8)}): ${says}`;
        expect(result.stderr.split('\n').filter((l) => l.includes('warning'))).toEqual([
          expect.stringContaining(warning),
        ]);
        expect(result.stderr).toContain(`chmod 700 ${evidence}`);
        expect(dirMode(evidence)).toBe(mode.toString(8));
        const bundle = JSON.parse(result.stdout).bundle.path as string;
        expect(dirMode(bundle)).toBe('600');
        const journal = run('tar', ['-xzOf', bundle, '--wildcards', '*/data/journal.ndjson'], { encoding: 'utf8' });
        expect(journal).toContain(says);
      }));
  }

  it('a fallback folder another user could write in is named as a warning beside the bundle', () =>
    trial('security', 'existing fallback folder 777', async () => {
      const container = await startContainer();
      const fallback = join(scratch, 'open-fallback');
      mkdirSync(fallback);
      chmodSync(fallback, 0o777);
      const result = await cli(['forensics', container.name, '--evidence-dir', join(fullDisk(), 'evidence')], {
        FIREBREAK_FALLBACK_DIR: fallback,
      });
      expect(result.code).toBe(1);
      const bundle = bundleFromOutput(result.stdout);
      expect(result.stdout).toContain(
        `warning: bundle ${bundle.path}: evidence folder ${fallback} (mode 0777): its group and every user can list, delete or replace its bundles`,
      );
      expect(dirMode(bundle.path)).toBe('600');
    }));
});

describe('a lock folder others can write in', () => {
  const cases: Array<[string, (dir: string) => void, RegExp]> = [
    ['writable by every user', (dir) => chmodSync(dir, 0o777), /is writable by every user \(mode 0777\): .*chmod 700 /],
    [
      'owned by another user',
      (dir) => chownSync(dir, 54321, 54321),
      /belongs to uid 54321, not to you \(uid 0\): .*set FIREBREAK_LOCK_DIR to a folder of your own$/,
    ],
  ];
  for (const [what, spoil, message] of cases) {
    it(`is refused before anything changes, exit 2, one line naming it: ${what}`, () =>
      trial('security', `lock folder ${what}`, async () => {
        const net = await createNetwork();
        const container = await startContainer({ networks: [{ name: net.name }] });
        const locks = join(scratch, 'locks');
        mkdirSync(locks, { mode: 0o700 });
        spoil(locks);
        const result = await cli(['isolate', container.name, '--evidence-dir', join(scratch, 'evidence')], {
          FIREBREAK_LOCK_DIR: locks,
        });
        expect(result.code).toBe(2);
        expect(result.stderr.trim().split('\n')).toEqual([
          expect.stringMatching(new RegExp(`^firebreak: lock folder ${locks} `)),
        ]);
        expect(result.stderr.trim()).toMatch(message);
        expect(Object.keys((await inspectContainer(container.id)).NetworkSettings.Networks)).toEqual([net.name]);
        expect(readdirSync(locks)).toEqual([]);
      }));
  }
});
