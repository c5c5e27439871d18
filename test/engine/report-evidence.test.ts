// `firebreak report` of a forensics bundle: the summary, the added files by name, the processes,
// one resource figure, the log lines with their control characters made visible, links to every
// artifact; and a bundle changed after it was written gets a banner and exit 5.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleFromOutput, tempDir, unpackBundle, type UnpackedBag } from './bundle-files.js';
import { runCli } from './cli.js';
import { startContainer, useHarness, type TestContainer } from './harness.js';

useHarness();

let container: TestContainer;
let bundle: string;
let bag: UnpackedBag;
let markdown: string;

beforeAll(async () => {
  container = await startContainer({
    cmd: [
      'sh',
      '-c',
      'echo evil > /tmp/evil; echo x > /etc/x; printf "boot \\033[31mred\\n"; echo oops >&2; exec sleep 3600',
    ],
    hostConfig: { Memory: 64 * 1024 * 1024, PidsLimit: 50 },
  });
  const result = await runCli(
    ['forensics', container.name, '--no-export', '--evidence-dir', tempDir(), '--incident', 'INC-RPT'],
    { timeoutMs: 55_000 },
  );
  expect(result.code, result.stderr).toBe(0);
  bundle = bundleFromOutput(result.stdout).path;
  bag = unpackBundle(bundle);
  const report = await runCli(['report', bundle]);
  expect(report.code, report.stderr).toBe(0);
  markdown = report.stdout;
}, 60_000);

describe('the report of a forensics bundle', () => {
  it('says first that the bundle verified, then what was done and that nothing is left to undo', () => {
    expect(markdown).toContain(`Bundle \`${bundle}\` verified: every file matches its manifest.`);
    expect(markdown).toMatch(new RegExp(`^- ${container.name}: 11 evidence files kept$`, 'm'));
    expect(markdown).toContain('- nothing: no change of this run is still in place');
  });

  it('names the added files, sensitive places first, with the counts', () => {
    // The harness starts containers with an init, so /sbin/docker-init is in the diff too.
    expect(markdown).toMatch(/^### Changed paths: \d+ added, \d+ changed, 0 deleted$/m);
    const rows = markdown.split('\n').filter((line) => /^\| `\/\S*` \| /.test(line));
    expect(rows).toContain('| `/etc/x` | **added** | configuration |');
    expect(rows).toContain('| `/tmp/evil` | **added** | temporary folder (droppers) |');
    const firstChanged = rows.findIndex((row) => row.includes('| changed |'));
    expect(rows.indexOf('| `/tmp/evil` | **added** | temporary folder (droppers) |')).toBeLessThan(firstChanged);
  });

  it('lists the processes with user, pid and command, and the memory and pids against their limits', () => {
    const top = bag.json(`data/targets/${container.name}/top.json`);
    const sleeping = (top.Processes as string[][]).find((row) => row.at(-1) === 'sleep 3600')!;
    expect(markdown).toContain(`| root | ${sleeping[1]} | \`sleep 3600\` |`);
    expect(markdown).toMatch(/^\| memory \| [\d.]+ (KiB|MiB) of 64\.0 MiB \([\d.]+ %\) \|$/m);
    expect(markdown).toMatch(/^\| pids \| \d of 50 \([\d.]+ %\) \|$/m);
  });

  it('shows the last log lines with the escape character made visible, never raw', () => {
    expect(markdown).toMatch(/^\S+Z boot \\u001b\[31mred$/m);
    expect(markdown).toMatch(/^\S+Z oops$/m);
    expect(markdown).not.toContain('\u001b');
  });

  it('is the same in the report.md the run wrote into the bundle, but for the verification line', () => {
    const atRunTime = bag.read('data/report.md');
    expect(atRunTime).toContain('| `/tmp/evil` | **added** |');
    expect(atRunTime).toMatch(/^\S+Z boot \\u001b\[31mred$/m);
  });

  it('in HTML draws the resource sample as inline SVG and links each artifact so it opens from the extracted bag', async () => {
    const out = join(bag.dir, 'report.html');
    const result = await runCli(['report', bundle, '--format', 'html', '--output', out]);
    expect(result.code, result.stderr).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect(html).toMatch(/<svg class="resources"[^>]*>.*<text[^>]*>memory<\/text>.*<\/svg>/);
    expect(html).toContain('<code>/tmp/evil</code>');
    const links = [...html.matchAll(/<a href="([^"]+)"><code>([^<]+)<\/code><\/a>/g)];
    const manifest = bag.read('manifest-sha256.txt');
    expect(links.length).toBeGreaterThanOrEqual(11);
    for (const [, href, path] of links) {
      expect(href).toBe(path);
      const sha256 = createHash('sha256')
        .update(readFileSync(join(bag.dir, href!)))
        .digest('hex');
      expect(manifest).toContain(`${sha256}  ${path}`);
      expect(html).toContain(sha256);
    }
  });
});

describe('the report of a bundle changed after it was written', () => {
  it('writes the report with a banner naming the changed file, then exits 5', async () => {
    const top = join(bag.dir, 'data', 'targets', container.name, 'top.json');
    writeFileSync(top, readFileSync(top, 'utf8').replace('sleep', 'sleeq'));
    const work = tempDir();
    const tampered = join(work, 'tampered.tar.gz');
    execFileSync('tar', ['-czf', tampered, '-C', join(bag.dir, '..'), '.']);
    const out = join(work, 'report.md');
    const result = await runCli(['report', tampered, '--output', out]);
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/failed verification: .*top\.json/);
    const text = readFileSync(out, 'utf8');
    expect(text).toMatch(/^> \*\*THIS BUNDLE FAILED VERIFICATION\.\*\*/m);
    expect(text).toMatch(new RegExp(`^> - .*data/targets/${container.name}/top\\.json`, 'm'));
    const json = await runCli(['report', tampered, '--format', 'json']);
    expect(json.code).toBe(5);
    const model = JSON.parse(json.stdout);
    expect(model).toMatchObject({ schema: 'firebreak.report/v1', status: 'failed', verification: { ok: false } });
  });
});
