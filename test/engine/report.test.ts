// report.md at run time and `firebreak report` afterwards, for a container with a poor posture
// and a secret in its environment.
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleFromOutput, tempDir, unpackBundle, type UnpackedBag } from './bundle-files.js';
import { runCli } from './cli.js';
import { startContainer, useHarness, type TestContainer } from './harness.js';

useHarness();

let container: TestContainer;
let mounted: string;
let bundle: string;
let bag: UnpackedBag;

beforeAll(async () => {
  mounted = tempDir('firebreak-mount-');
  container = await startContainer({
    env: { DB_PASSWORD: 'hunter2', APP_MODE: 'drill' },
    // NET_ADMIN added, a host folder mounted writable, and no memory, CPU or pids limit.
    hostConfig: { CapAdd: ['NET_ADMIN'], Binds: [`${mounted}:/data`] },
  });
  const result = await runCli(['isolate', container.name, '--evidence-dir', tempDir(), '--incident', 'INC-REPORT']);
  expect(result.code, result.stderr).toBe(0);
  bundle = bundleFromOutput(result.stdout).path;
  bag = unpackBundle(bundle);
});

const report = (...args: string[]) => runCli(['report', bundle, ...args]);

describe('report.md written by a run', () => {
  it('has a timeline of what was done to the container, when and by whom', () => {
    const md = bag.read('data/report.md');
    expect(md).toMatch(/^# firebreak isolate: succeeded\n/);
    expect(md).toMatch(/\| operator \| \S+@\S+ \|/);
    expect(md).toMatch(/^Times are UTC, on \d{4}-\d\d-\d\d; every step was run by \S+@\S+\.$/m);
    for (const uses of ['evidence.inspect', 'evidence.networks', 'network.disconnect', 'assert.isolated']) {
      expect(md).toMatch(
        new RegExp(
          `^\\| \\d\\d:\\d\\d:\\d\\d\\.\\d{3} \\| ${container.name} \\| \\S+ \\| ${uses} \\| succeeded \\|`,
          'm',
        ),
      );
    }
  });

  it('reports the hardening findings read from the engine inspect data', () => {
    const md = bag.read('data/report.md');
    expect(md).toContain('| added capabilities | NET_ADMIN | **RISK** |');
    expect(md).toContain(`| host paths mounted | ${mounted} -> /data (rw) | warn |`);
    expect(md).toContain('| memory limit | none | warn |');
    expect(md).toContain('| CPU limit | none | warn |');
    expect(md).toContain('| pids limit | none | warn |');
    expect(md).toContain('| runs as | root (no user set) | warn |');
    expect(md).toContain('| privileged | no | ok |');
  });

  it('lists every evidence file with the SHA-256 the manifest has for it', () => {
    const md = bag.read('data/report.md');
    const manifest = bag
      .read('manifest-sha256.txt')
      .trim()
      .split('\n')
      .map((line) => line.split(/\s+/));
    const listed = manifest.filter(([, path]) => !['data/run.json', 'data/report.md'].includes(path!));
    expect(listed.length).toBeGreaterThanOrEqual(3);
    for (const [sha256, path] of listed)
      expect(md).toMatch(new RegExp(`^\\| ${path} \\| [^|]+ B\\)? \\| \`${sha256}\` \\|$`, 'm'));
  });

  it('masks DB_PASSWORD in report.md and the journal while inspect.json in the bundle keeps it', () => {
    const md = bag.read('data/report.md');
    expect(md).toContain('| DB_PASSWORD | `****` |');
    expect(md).toContain('| APP_MODE | `drill` |');
    expect(md).not.toContain('hunter2');
    expect(bag.read('data/journal.ndjson')).not.toContain('hunter2');
    expect(bag.json(`data/targets/${container.name}/inspect.json`).Config.Env).toContain('DB_PASSWORD=hunter2');
  });
});

describe('firebreak report', () => {
  it('renders the same Markdown from the bundle as the run wrote into it', async () => {
    const result = await report();
    expect(result.code, result.stderr).toBe(0);
    // Plus the line that says the bundle verified, which the run could not say of a bag it was still writing.
    const verified = `Bundle \`${bundle}\` verified: every file matches its manifest.\n\n`;
    expect(result.stdout).toContain(verified);
    expect(result.stdout.replace(verified, '')).toBe(bag.read('data/report.md'));
  });

  it('renders JSON with the findings and the masked environment, the same document as --json', async () => {
    const result = await report('--format', 'json');
    expect(result.code).toBe(0);
    const doc = JSON.parse(result.stdout);
    expect(doc.schema).toBe('firebreak.report/v1');
    const [target] = doc.targets;
    expect(target.id).toBe(container.id);
    expect(target.findings.find((f: { id: string }) => f.id === 'capabilities')).toMatchObject({
      value: 'NET_ADMIN',
      level: 'risk',
    });
    expect(target.env).toContainEqual({ name: 'DB_PASSWORD', value: '****', masked: true });
    expect(result.stdout).not.toContain('hunter2');
    expect(JSON.parse((await report('--json')).stdout)).toEqual(doc);
  });

  it('writes a self-contained HTML file with --output, secrets masked', async () => {
    const out = join(tempDir(), 'report.html');
    const result = await report('--format', 'html', '--output', out);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`wrote html report of ${bundle} to ${out}\n`);
    const html = readFileSync(out, 'utf8');
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<style>');
    expect(html).not.toMatch(/https?:\/\/|<script|<link|\bsrc=|url\(/i);
    expect(html).toContain('<code>NET_ADMIN</code>');
    expect(html).toContain(container.name);
    expect(html).not.toContain('hunter2');
  });

  it('exits 2 for a missing bundle and 5 for a file that is not a bundle', async () => {
    const dir = tempDir();
    const missing = await runCli(['report', join(dir, 'nope.tar.gz')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/bundle not found: .*nope\.tar\.gz/);
    const notBundle = join(dir, 'notes.txt');
    writeFileSync(notBundle, 'not a tar at all\n'.repeat(100));
    const bad = await runCli(['report', notBundle]);
    expect(bad.code).toBe(5);
    expect(bad.stderr).toMatch(/cannot read bundle .*notes\.txt/);
  });

  it('writes --output 0600 over an existing 0644 file, and leaves nothing else in its folder', async () => {
    const dir = tempDir();
    const out = join(dir, 'report.md');
    writeFileSync(out, 'an older report\n');
    chmodSync(out, 0o644);
    const result = await report('--output', out);
    expect(result.code, result.stderr).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const verified = `Bundle \`${bundle}\` verified: every file matches its manifest.\n\n`;
    expect(readFileSync(out, 'utf8').replace(verified, '')).toBe(bag.read('data/report.md'));
    expect(readdirSync(dir)).toEqual(['report.md']);
  });

  it('exits 2 with one line for an --output that is a directory or in a missing folder, and for no bundle at all', async () => {
    const dir = tempDir();
    const intoDir = await report('--output', dir);
    expect(intoDir.code).toBe(2);
    expect(intoDir.stderr).toBe(
      `firebreak: --output ${dir} is a directory; name a file, e.g. ${join(dir, 'report.md')}\n`,
    );
    expect(readdirSync(dir)).toEqual([]);
    const noFolder = await report('--output', join(dir, 'missing', 'r.md'));
    expect(noFolder.code).toBe(2);
    expect(noFolder.stderr).toBe(
      `firebreak: --output ${join(dir, 'missing', 'r.md')}: the folder ${join(dir, 'missing')} does not exist\n`,
    );
    const noBundle = await runCli(['report']);
    expect(noBundle.code).toBe(2);
    expect(noBundle.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('exits 2 for an unknown format', async () => {
    const result = await report('--format', 'pdf');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/pdf/);
  });
});

describe('escape sequences from a container', () => {
  // Clears the screen, retitles the window and rings the bell; U+009B is a one-character CSI
  // that JSON.stringify leaves raw.
  const attack = '\u001b[2J\u001b]0;pwned\u0007\u009b31m';
  const raw = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

  it("reach neither the run's output nor `firebreak report` on stdout, in any format, and show as escapes", async () => {
    const c = await startContainer({
      env: { MOTD: attack },
      labels: { note: attack },
      cmd: ['sh', '-c', 'printf "$MOTD\\n"; printf "$MOTD\\n" >&2; sleep 3600'],
    });
    const run = await runCli(['forensics', c.name, '--no-export', '--evidence-dir', tempDir()]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).not.toMatch(raw);
    const file = bundleFromOutput(run.stdout).path;
    const logged = unpackBundle(file).read(`data/targets/${c.name}/logs.stdout.log`);
    // The evidence keeps the bytes as the container wrote them; only what is printed is escaped.
    expect(logged).toContain(attack);

    const md = await runCli(['report', file]);
    expect(md.code, md.stderr).toBe(0);
    expect(md.stdout).not.toMatch(raw);
    expect(md.stdout).toContain('| MOTD | `\\u001b[2J\\u001b]0;pwned\\u0007\\u009b31m` |');
    for (const format of ['json', 'html']) {
      const out = await runCli(['report', file, '--format', format]);
      expect(out.code, out.stderr).toBe(0);
      expect(out.stdout).not.toMatch(raw);
    }
    const json = JSON.parse((await runCli(['report', file, '--format', 'json'])).stdout);
    expect(json.targets[0].env).toContainEqual({ name: 'MOTD', value: attack, masked: false });
  });
});
