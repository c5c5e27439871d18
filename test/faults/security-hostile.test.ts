// Security defaults, what a container controls: a hostile container (a 280-character name, a
// volume whose name is too long for a file name with .tar after it, files named with a line break,
// `%`, backslashes, escape sequences, HTML and Markdown, a path of 3000 characters, symlinks that
// point out of any folder, labels, env values, log lines and a command line full of the same) goes
// through forensics and a volume backup once; then
//  - every entry of the bundle sits under <bag>/data/ or is a tag file, and `tar -xf` of the
//    bundle, and of each tar inside it, writes nothing outside the folder it is given;
//  - report.md, `report --format md|html|json` and everything printed escape every one of those
//    strings, and no control character reaches the terminal.
// Each check is a `security` trial in the fault ledger.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleFromOutput, tempDir, unpackBundle, type UnpackedBag } from '../engine/bundle-files.js';
import { runCli, type CliResult } from '../engine/cli.js';
import { docker, startContainer, TEST_LABELS, uniqueName, useHarness } from '../engine/harness.js';
import { trial } from './ledger.js';

useHarness();

const mark = randomBytes(4).toString('hex');
// What a reader must only ever see as text.
const payloads = {
  HOSTILE_HTML: '<script>alert(1)</script><img src=x onerror=alert(2)>',
  HOSTILE_MD: `[click](javascript:alert(3)) ![beacon](http://127.0.0.1:9/${mark})`,
  HOSTILE_MDLINK: '](javascript:alert(4))',
  HOSTILE_PIPE: 'a | b | c',
  HOSTILE_TICK: 'run `id` and ``x`` here',
  HOSTILE_NL: 'line one\nline two\r\n| forged | row |',
  HOSTILE_ESC: '\u001b[2J\u001b]0;pwned\u0007\u009b31m',
  HOSTILE_BIDI: 'abc\u202edcba\u2066x',
};
const secret = `hunter2-${mark}`;

// Files the container leaves behind; each name is a problem for some tool.
const script = [
  'mkdir -p /tmp/evil && cd /tmp/evil',
  `printf x > "$(printf 'a\\nb')"`,
  `printf x > '100%'`,
  `printf x > '..\\..\\..\\backslash'`,
  `printf x > '<img src=x onerror=alert(5)>'`,
  `printf x > '](javascript:alert(6))'`,
  "printf x > 'a|b`c'",
  `printf x > "$(printf '\\033[2Jesc')"`,
  `printf x > "$(head -c 250 /dev/zero | tr '\\0' L)"`,
  `D=/tmp/evil/deep; for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14; do D="$D/$(head -c 200 /dev/zero | tr '\\0' d)"; done; mkdir -p "$D" && printf x > "$D/end"`,
  `ln -s ../../../../../../../../../../../../tmp/ESCAPED-${mark} out`,
  'ln -s /etc/passwd abs',
  'ln -s .. up',
  `printf x > "/data/$(printf 'v\\nol')"`,
  `echo '<script>alert("log")</script> | x |'`,
  `printf '\\033]0;pwned\\007\\033[2J ok   fake: succeeded\\n'`,
  'echo ready',
  // Not exec: the shell stays, and its command line (this whole script) is in the process list.
  'sleep 3600',
].join('\n');

let result: CliResult;
let bundle: string;
let bag: UnpackedBag;
let name: string;
let volume: string;
const evidence = tempDir('firebreak-hostile-');
const controls = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

beforeAll(async () => {
  name = `${uniqueName('fb-test..')}-${'n'.repeat(260)}`;
  // 253 characters: the engine can still make its folder, but with .tar after it no file system takes the name.
  volume = `${uniqueName('fb-test-vol')}-${'v'.repeat(232)}`;
  await docker().createVolume({ Name: volume, Labels: TEST_LABELS });
  const c = await startContainer({
    name,
    cmd: ['sh', '-c', script],
    env: { ...payloads, DB_PASSWORD: secret },
    labels: Object.fromEntries(Object.entries(payloads).map(([k, v]) => [`hostile.${k.toLowerCase()}`, v])),
    hostConfig: { Binds: [`${volume}:/data`] },
  });
  for (
    const started = Date.now();
    !(await docker().getContainer(c.id).logs({ stdout: true })).toString().includes('ready');
  ) {
    if (Date.now() - started > 20_000) throw new Error('the hostile container did not get ready in 20 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const playbook = join(evidence, 'hostile.yaml');
  const steps = [
    'evidence.top',
    'evidence.inspect',
    'evidence.logs',
    'evidence.diff',
    'evidence.files',
    'evidence.image',
    'evidence.export',
    'volume.backup',
  ];
  execFileSync('sh', ['-c', `cat > '${playbook}'`], {
    input: ['name: hostile', 'steps:', ...steps.map((s) => `  - uses: ${s}`), ''].join('\n'),
  });
  result = await runCli([
    'run',
    playbook,
    name,
    '--yes',
    '--log-level',
    'debug',
    '--evidence-dir',
    join(evidence, 'bundles'),
  ]);
  expect(result.code, result.stdout + result.stderr).toBe(0);
  bundle = bundleFromOutput(result.stdout).path;
  bag = unpackBundle(bundle);
}, 90_000);

afterAll(async () => {
  await docker()
    .getVolume(volume)
    .remove()
    .catch(() => undefined);
});

/** Every entry of a tar (gzipped or not): its name, type and link target. */
async function entriesOf(file: string): Promise<Array<{ name: string; type: string; linkname?: string }>> {
  const entries: Array<{ name: string; type: string; linkname?: string }> = [];
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    entries.push({
      name: header.name,
      type: header.type ?? 'file',
      ...(header.linkname ? { linkname: header.linkname } : {}),
    });
    stream.on('end', next);
    stream.resume();
  });
  const source = createReadStream(file);
  await (file.endsWith('.gz')
    ? pipeline(source, createGunzip(), extract as never)
    : pipeline(source, extract as never));
  return entries;
}

/** `tar -xf FILE` into a fresh folder alone in a sandbox; returns what the sandbox holds after. */
function extractAlone(file: string): { into: string; sandbox: string[] } {
  const sandbox = tempDir('firebreak-sandbox-');
  const into = join(sandbox, 'x');
  mkdirSync(into);
  execFileSync('tar', ['-xf', file, '-C', into], { stdio: 'pipe' });
  return { into, sandbox: readdirSync(sandbox) };
}

/**
 * Markdown with its code spans taken out, as CommonMark finds them: a run of N backticks opens
 * one, the next run of exactly N closes it. Backslash-escaped backticks open nothing.
 */
function outsideCodeSpans(md: string): string {
  let out = '';
  for (let i = 0; i < md.length;) {
    if (md[i] === '\\') {
      out += md.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (md[i] !== '`') {
      out += md[i++];
      continue;
    }
    const open = /^`+/.exec(md.slice(i))![0];
    const close = new RegExp(`(?<!\`)${open}(?!\`)`, 'g');
    close.lastIndex = i + open.length;
    const end = close.exec(md);
    if (!end) {
      out += open;
      i += open.length;
      continue;
    }
    out += ' ';
    i = end.index + open.length;
  }
  return out;
}

const escapes = (path: string) => path.startsWith('/') || path.split('/').includes('..');

describe('names and paths from a hostile container', () => {
  it('stay under <bag>/data/ in the bundle, with short names, and tar -xf of the bundle writes nothing outside its folder', () =>
    trial('security', 'bundle entries under data/ and tag files', async () => {
      const entries = await entriesOf(bundle);
      const bagName = entries[0]!.name.split('/')[0]!;
      for (const e of entries) {
        expect(e.name).toMatch(
          new RegExp(
            `^${bagName}/(bagit\\.txt|bag-info\\.txt|manifest-sha256\\.txt|tagmanifest-sha256\\.txt|data/.+)$`,
          ),
        );
        expect(escapes(e.name), e.name).toBe(false);
        expect(e.type, e.name).toBe('file');
        for (const segment of e.name.split('/')) expect(Buffer.byteLength(segment), segment).toBeLessThanOrEqual(128);
      }
      const folders = new Set(entries.map((e) => /\/data\/targets\/([^/]+)\//.exec(e.name)?.[1]).filter(Boolean));
      expect(folders.size).toBe(1);
      const [folder] = folders;
      expect(folder!.startsWith('fb-test..-')).toBe(true);
      expect(entries.some((e) => e.name.includes('/volumes/fb-test-vol-') && e.name.endsWith('.tar'))).toBe(true);
      const { sandbox } = extractAlone(bundle);
      expect(sandbox).toEqual(['x']);
      expect(bag.sha256Check('manifest-sha256.txt')).not.toMatch(/FAILED/);
      // The name is kept whole where it is data, not a path.
      expect(bag.json('data/run.json').targets[0].name).toBe(name);
    }));

  it('are kept exactly in files.tar, files.json and diff.json, and tar -xf of every tar in the bundle writes nothing outside its folder', () =>
    trial('security', 'nested tars: files, filesystem, volume', async () => {
      const dir = readdirSync(join(bag.dir, 'data/targets'))[0]!;
      const target = join(bag.dir, 'data/targets', dir);
      const files = await entriesOf(join(target, 'files.tar'));
      const names = files.map((e) => e.name.replace(/\/$/, ''));
      for (const expected of [
        'tmp/evil/a\nb',
        'tmp/evil/100%',
        'tmp/evil/..\\..\\..\\backslash',
        'tmp/evil/<img src=x onerror=alert(5)>',
        'tmp/evil/a|b`c',
        `tmp/evil/${'L'.repeat(250)}`,
      ]) {
        expect(names).toContain(expected);
      }
      expect(names.some((n) => n.endsWith('/end') && n.length > 2800)).toBe(true);
      expect(files.find((e) => e.name === 'tmp/evil/out')).toMatchObject({
        type: 'symlink',
        linkname: `../../../../../../../../../../../../tmp/ESCAPED-${mark}`,
      });
      expect(files.find((e) => e.name === 'tmp/evil/abs')).toMatchObject({ type: 'symlink', linkname: '/etc/passwd' });
      const diff = bag.json(`data/targets/${dir}/diff.json`) as Array<{ path: string }>;
      expect(diff.map((c) => c.path)).toContain('/tmp/evil/a\nb');
      expect(JSON.stringify(bag.json(`data/targets/${dir}/files.json`))).toContain(JSON.stringify('/tmp/evil/a\nb'));

      const volumes = readdirSync(join(target, 'volumes'));
      expect(volumes).toHaveLength(1);
      const tars = [join(target, 'files.tar'), join(target, 'filesystem.tar'), join(target, 'volumes', volumes[0]!)];
      for (const file of tars) {
        for (const e of await entriesOf(file)) {
          expect(escapes(e.name), `${file}: ${e.name}`).toBe(false);
          if (e.type === 'link') expect(escapes(e.linkname ?? ''), `${file}: hard link ${e.name}`).toBe(false);
        }
        const { into, sandbox } = extractAlone(file);
        expect(sandbox, file).toEqual(['x']);
        if (file.endsWith('files.tar')) {
          // The symlinks are evidence, kept as symlinks, and nothing was written through them.
          expect(readlinkSync(join(into, 'tmp/evil/out'))).toBe(
            `../../../../../../../../../../../../tmp/ESCAPED-${mark}`,
          );
          expect(lstatSync(join(into, 'tmp/evil/a\nb')).isFile()).toBe(true);
        }
      }
      expect(existsSync(`/tmp/ESCAPED-${mark}`)).toBe(false);
    }));
});

describe('strings from a hostile container in reports and on the terminal', () => {
  let rendered: Promise<{ md: string[]; html: string; json: string }> | undefined;
  /** The report as the run wrote it, and as `report` renders it again, in each format (rendered once). */
  const reports = () => (rendered ??= renderReports());
  async function renderReports(): Promise<{ md: string[]; html: string; json: string }> {
    const rendered: Record<string, string> = {};
    for (const format of ['md', 'html', 'json']) {
      const r = await runCli(['report', bundle, '--format', format]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout + r.stderr).not.toMatch(controls);
      rendered[format] = r.stdout;
    }
    return { md: [bag.read('data/report.md'), rendered.md!], html: rendered.html!, json: rendered.json! };
  }

  it('markdown: no raw HTML, no link or image, no code span broken, every table row whole, no control character', () =>
    trial('security', 'markdown report escapes container strings', async () => {
      for (const md of (await reports()).md) {
        expect(md).not.toMatch(controls);
        // Inside a code span everything is literal text; outside, nothing may be raw HTML.
        expect(outsideCodeSpans(md)).not.toContain('<');
        expect(md).not.toContain(secret);
        // A link or an image needs an unescaped ] followed by (.
        expect(outsideCodeSpans(md)).not.toMatch(/(?<!\\)\]\(/);
        // Every row of a table has as many unescaped pipes as its header.
        const lines = md.split('\n');
        let width = 0;
        for (const [i, line] of lines.entries()) {
          if (!line.startsWith('|')) {
            width = 0;
            continue;
          }
          const pipes = line.replace(/\\\\/g, '').replace(/\\\|/g, '').split('|').length;
          if (width === 0) width = pipes;
          expect(pipes, `line ${i + 1}: ${line}`).toBe(width);
        }
        // Each env value is in one code span whose fence no backtick inside can close.
        expect(md).toContain('| HOSTILE_TICK | ```run `id` and ``x`` here``` |');
        expect(md).toContain('| HOSTILE_NL | `line one line two \\| forged \\| row \\|` |');
        expect(md).toContain('| HOSTILE_ESC | `\\u001b[2J\\u001b]0;pwned\\u0007\\u009b31m` |');
        expect(md).toContain('| HOSTILE_BIDI | `abc\\u202edcba\\u2066x` |');
        expect(md).toContain('| DB_PASSWORD | `****` |');
      }
    }));

  it("HTML: only the renderer's own tags and attributes, every value escaped, no control character", () =>
    trial('security', 'HTML report escapes container strings', async () => {
      const { html } = await reports();
      expect(html).not.toMatch(controls);
      expect(html).not.toContain(secret);
      const tags = new Set([...html.matchAll(/<\/?([a-zA-Z][a-zA-Z0-9]*)/g)].map((m) => m[1]!.toLowerCase()));
      const own = [
        'html',
        'head',
        'meta',
        'title',
        'style',
        'body',
        'main',
        'header',
        'h1',
        'h2',
        'h3',
        'p',
        'span',
        'dl',
        'dt',
        'dd',
        'section',
        'table',
        'thead',
        'tbody',
        'tr',
        'th',
        'td',
        'code',
        'strong',
        'footer',
        // The summary's lists, the log excerpt, the artifact links and the resource figure.
        'ul',
        'li',
        'pre',
        'div',
        'a',
        'svg',
        'text',
        'rect',
      ];
      expect([...tags].filter((t) => !own.includes(t))).toEqual([]);
      expect(html).not.toMatch(/<[^>]*\son\w+\s*=/i);
      // Links only into the extracted bag: relative, under data/, never a scheme or a way up.
      for (const [, href] of html.matchAll(/\shref="([^"]*)"/g)) {
        expect(href).toMatch(/^data\/[^:]*$/);
        expect(href!.split('/')).not.toContain('..');
      }
      expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;');
      expect(html).toContain('abc\\u202edcba\\u2066x');
    }));

  it('JSON: valid, with every value as the container gave it (secrets masked), and nothing raw for a terminal', () =>
    trial('security', 'JSON report keeps values and escapes controls', async () => {
      const { json } = await reports();
      expect(json).not.toMatch(controls);
      const model = JSON.parse(json);
      const env = Object.fromEntries(
        model.targets[0].env.map((e: { name: string; value: string }) => [e.name, e.value]),
      );
      for (const [key, value] of Object.entries(payloads)) expect(env[key]).toBe(value);
      expect(env.DB_PASSWORD).toBe('****');
    }));

  it("terminal: the run's progress, result and debug log carry no control character, and the log line forged in the container is not a line of ours", () =>
    trial('security', 'terminal output of a hostile run', async () => {
      expect(result.stdout).not.toMatch(controls);
      expect(result.stderr).not.toMatch(controls);
      expect(result.stdout.split('\n').filter((l) => l.includes('fake: succeeded'))).toEqual([]);
      expect(result.stderr).not.toContain(secret);
      expect(result.stdout).not.toContain(secret);
    }));
});
