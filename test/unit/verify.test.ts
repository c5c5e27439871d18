import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { UsageError, VerifyError } from '../../src/errors.js';
import { BundleWriter } from '../../src/evidence/bundle.js';
import { readBundleEntries, readRunRecord } from '../../src/evidence/reader.js';
import { verifyBundle } from '../../src/evidence/verify.js';
import { useTempDirs } from './temp-dirs.js';

const tempDir = useTempDirs('firebreak-verify-');

const RUN = { playbook: 'isolate', status: 'succeeded', marker: 'FLIP-ME-0123456789' };

async function goodBundle(compression: 'gzip' | 'none'): Promise<{ path: string; bag: string }> {
  const writer = await BundleWriter.open({
    dir: await tempDir(),
    playbook: 'isolate',
    incident: 'INC-1',
    compression,
    startedAt: new Date('2025-01-02T03:04:05Z'),
    bagInfo: { 'External-Identifier': 'INC-1' },
  });
  await writer.addFile('run.json', JSON.stringify(RUN));
  await writer.addFile('targets/web-1/inspect.json', '{"Id":"PAYLOAD-MARKER-abcdef"}');
  await writer.addStream('targets/web-1/logs.stdout.log', Readable.from([Buffer.from('one\n'), Buffer.from('two\n')]));
  const { path } = await writer.finalize();
  return { path, bag: writer.bagName };
}

function sha256(data: string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A hand-made tar, for bags the writer would never produce. */
async function handMadeBundle(entries: Array<[string, string]>): Promise<string> {
  const path = join(await tempDir(), 'hand.tar');
  const pack = tar.pack();
  for (const [name, content] of entries) pack.entry({ name }, content);
  pack.finalize();
  await pipeline(pack as unknown as NodeJS.ReadableStream, createWriteStream(path));
  return path;
}

function bagFiles(payload: Record<string, string>, manifestLines: string, oxum: string): Array<[string, string]> {
  const bagit = 'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n';
  const info = `Payload-Oxum: ${oxum}\n`;
  const tagManifest = [
    `${sha256(bagit)}  bagit.txt`,
    `${sha256(info)}  bag-info.txt`,
    `${sha256(manifestLines)}  manifest-sha256.txt`,
  ].join('\n');
  return [
    ['bag/bagit.txt', bagit],
    ...Object.entries(payload).map(([p, c]): [string, string] => [`bag/data/${p}`, c]),
    ['bag/bag-info.txt', info],
    ['bag/manifest-sha256.txt', manifestLines],
    ['bag/tagmanifest-sha256.txt', `${tagManifest}\n`],
  ];
}

describe('verifyBundle', () => {
  it('passes a good gzip bundle and a good plain tar bundle', async () => {
    for (const compression of ['gzip', 'none'] as const) {
      const { path, bag } = await goodBundle(compression);
      const report = await verifyBundle(path);
      expect(report.problems).toEqual([]);
      expect(report).toMatchObject({
        ok: true,
        bundle: path,
        bag,
        entries: 7,
        mismatches: [],
        missing: [],
        unexpected: [],
        tagManifestOk: true,
        oxum: { ok: true, actual: `${report.payloadOctets}.3` },
        sidecar: { present: true, ok: true },
      });
    }
  });

  it('names the payload entry whose content changed by one byte', async () => {
    const { path } = await goodBundle('none');
    const raw = await readFile(path);
    const at = raw.indexOf('PAYLOAD-MARKER-abcdef');
    expect(at).toBeGreaterThan(0);
    raw[at] = raw[at]! ^ 0x01;
    await writeFile(path, raw);

    const report = await verifyBundle(path);
    expect(report.ok).toBe(false);
    expect(report.mismatches).toEqual([
      {
        path: 'data/targets/web-1/inspect.json',
        expected: sha256('{"Id":"PAYLOAD-MARKER-abcdef"}'),
        actual: sha256('{"Id":"QAYLOAD-MARKER-abcdef"}'),
      },
    ]);
    expect(
      report.problems.some((p) => p.startsWith('data/targets/web-1/inspect.json does not match manifest-sha256.txt')),
    ).toBe(true);
    expect(report.tagManifestOk).toBe(true);
    expect(report.oxum.ok).toBe(true);
    // The whole file changed too, so the sidecar no longer matches it.
    expect(report.sidecar.ok).toBe(false);
  });

  it('reports a sidecar that does not match the bundle', async () => {
    const { path } = await goodBundle('gzip');
    const wrong = 'f'.repeat(64);
    await writeFile(`${path}.sha256`, `${wrong}  ${path.split('/').pop()}\n`);

    const report = await verifyBundle(path);
    expect(report.ok).toBe(false);
    expect(report.mismatches).toEqual([]);
    expect(report.sidecar).toMatchObject({ present: true, ok: false, expected: wrong });
    expect(report.problems).toEqual([`${path} has sha256 ${report.sidecar.actual}, but ${path}.sha256 says ${wrong}`]);
  });

  it('treats a missing sidecar as absent, not as a failure', async () => {
    const { path } = await goodBundle('gzip');
    await rm(`${path}.sha256`);
    const report = await verifyBundle(path);
    expect(report.ok).toBe(true);
    expect(report.sidecar).toMatchObject({ present: false, ok: true });
    expect(report.sidecar.actual).toMatch(/^[0-9a-f]{64}$/);
  });

  it('lists files missing from the tar, files missing from the manifest, and a wrong Payload-Oxum', async () => {
    const manifest = `${sha256('kept')}  data/kept.txt\n${sha256('gone')}  data/gone.txt\n`;
    const path = await handMadeBundle(bagFiles({ 'kept.txt': 'kept', 'extra.txt': 'extra' }, manifest, '8.2'));

    const report = await verifyBundle(path);
    expect(report.ok).toBe(false);
    expect(report.bag).toBe('bag');
    expect(report.missing).toEqual(['data/gone.txt']);
    expect(report.unexpected).toEqual(['data/extra.txt']);
    expect(report.oxum).toEqual({ expected: '8.2', actual: '9.2', ok: false });
    expect(report.tagManifestOk).toBe(true);
    expect(report.problems).toEqual(
      expect.arrayContaining([
        'data/gone.txt is listed in manifest-sha256.txt but is not in the bundle',
        'data/extra.txt is in the bundle but not in manifest-sha256.txt',
      ]),
    );
  });

  it('reports a tag file that does not match the tag manifest', async () => {
    const manifest = `${sha256('kept')}  data/kept.txt\n`;
    const files = bagFiles({ 'kept.txt': 'kept' }, manifest, '4.1').map(([name, content]): [string, string] =>
      name === 'bag/bag-info.txt' ? [name, `${content}Contact-Name: mallory\n`] : [name, content],
    );
    const report = await verifyBundle(await handMadeBundle(files));
    expect(report.ok).toBe(false);
    expect(report.tagManifestOk).toBe(false);
    expect(report.mismatches.map((m) => m.path)).toEqual(['bag-info.txt']);
  });

  it('fails without crashing on a damaged gzip file', async () => {
    const { path } = await goodBundle('gzip');
    const raw = await readFile(path);
    raw.fill(0x55, 40, 200);
    await writeFile(path, raw);
    const report = await verifyBundle(path);
    expect(report.ok).toBe(false);
    expect(report.problems[0]).toMatch(/^cannot read .* as a tar or tar.gz: /);
  });

  it('fails without crashing on a truncated bundle', async () => {
    const { path } = await goodBundle('none');
    await truncate(path, 1500);
    const report = await verifyBundle(path);
    expect(report.ok).toBe(false);
    expect(report.problems[0]).toMatch(/^cannot read .* as a tar or tar.gz: /);
    expect(report.sidecar.ok).toBe(false);
  });

  it('fails without crashing on a file that is not a bundle', async () => {
    const dir = await tempDir();
    for (const [name, content] of [
      ['notes.txt', Buffer.from('just some text, not a tar at all\n'.repeat(40))],
      ['notes.gz', gzipSync('just some text, not a tar at all\n'.repeat(40))],
      ['empty', Buffer.alloc(0)],
    ] as const) {
      await writeFile(join(dir, name), content);
      const report = await verifyBundle(join(dir, name));
      expect(report.ok).toBe(false);
      expect(report.problems.length).toBeGreaterThan(0);
    }
  });

  it('throws a usage error for a bundle that does not exist', async () => {
    const missing = join(await tempDir(), 'nope.tar.gz');
    await expect(verifyBundle(missing)).rejects.toThrow(UsageError);
    await expect(verifyBundle(missing)).rejects.toThrow(`bundle not found: ${missing}`);
  });
});

describe('readBundleEntries', () => {
  it('reads only the entries asked for, from gzip and plain bundles', async () => {
    for (const compression of ['gzip', 'none'] as const) {
      const { path } = await goodBundle(compression);
      const entries = await readBundleEntries(path, (rel) => rel === 'manifest-sha256.txt' || rel.endsWith('.log'));
      expect([...entries.keys()].sort()).toEqual(['data/targets/web-1/logs.stdout.log', 'manifest-sha256.txt']);
      expect(entries.get('data/targets/web-1/logs.stdout.log')!.toString()).toBe('one\ntwo\n');
      expect(await readRunRecord(path)).toEqual(RUN);
    }
  });

  it('says clearly when a file has no run record or cannot be read', async () => {
    const noRun = await handMadeBundle([['bag/bagit.txt', 'BagIt-Version: 1.0\n']]);
    await expect(readRunRecord(noRun)).rejects.toThrow(VerifyError);
    await expect(readRunRecord(noRun)).rejects.toThrow('has no data/run.json');
    const junk = join(await tempDir(), 'junk.tar');
    await writeFile(junk, 'x'.repeat(2000));
    await expect(readBundleEntries(junk, () => true)).rejects.toThrow(/cannot read bundle .*junk.tar/);
    await expect(readRunRecord(join(await tempDir(), 'missing.tar'))).rejects.toThrow(UsageError);
  });
});
