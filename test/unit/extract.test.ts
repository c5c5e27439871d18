// bundle extract on tars made to escape: nothing may land outside the destination.
import { existsSync, lstatSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { extractBundle, safeRelative } from '../../src/evidence/extract.js';
import { useTempDirs } from './temp-dirs.js';

const tempDir = useTempDirs('firebreak-extract-');

type Header = Partial<tar.Header> & { name: string; body?: string };

async function tarOf(entries: Header[], gzip: boolean): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (chunk: unknown) => void chunks.push(chunk as Buffer));
  const done = new Promise<void>((resolve) => pack.on('end', () => resolve()));
  for (const { body, ...header } of entries) pack.entry(header, body ?? '');
  pack.finalize();
  await done;
  const raw = Buffer.concat(chunks);
  return gzip ? gzipSync(raw) : raw;
}

async function bundleFile(entries: Header[], gzip = true): Promise<string> {
  const path = join(await tempDir(), gzip ? 'b.tar.gz' : 'b.tar');
  await writeFile(path, await tarOf(entries, gzip));
  return path;
}

describe('bundle extract', () => {
  it('unpacks files and folders of both compressions, keeping modes and dropping setuid', async () => {
    for (const gzip of [true, false]) {
      const bundle = await bundleFile(
        [
          { name: 'bag/', type: 'directory', mode: 0o750 },
          { name: 'bag/data/run.json', mode: 0o640, body: '{"status":"succeeded"}' },
          { name: 'bag/data/tool', mode: 0o4755, body: 'x' },
        ],
        gzip,
      );
      const dest = join(await tempDir(), 'out');
      const result = await extractBundle(bundle, dest);
      expect(result.refused).toEqual([]);
      expect(result.files).toBe(2);
      expect(readFileSync(join(dest, 'bag/data/run.json'), 'utf8')).toBe('{"status":"succeeded"}');
      expect(statSync(join(dest, 'bag/data/run.json')).mode & 0o7777).toBe(0o640);
      expect(statSync(join(dest, 'bag/data/tool')).mode & 0o7777).toBe(0o755);
      expect(statSync(join(dest, 'bag')).mode & 0o777).toBe(0o750);
    }
  });

  it('refuses absolute paths, .. segments, links that lead out and device files, and writes none of them', async () => {
    const outer = await tempDir();
    const dest = join(outer, 'out');
    const bundle = await bundleFile([
      { name: '/etc/evil', body: 'x' },
      { name: 'bag/../../escaped', body: 'x' },
      { name: 'bag/up', type: 'symlink', linkname: '../..' },
      { name: 'bag/abs', type: 'symlink', linkname: '/etc' },
      { name: 'bag/dot', type: 'symlink', linkname: '.' },
      { name: 'bag/dot/../../through-dot', body: 'x' },
      { name: 'bag/hard', type: 'link', linkname: '/etc/passwd' },
      { name: 'bag/null', type: 'character-device', devmajor: 1, devminor: 3 },
      { name: 'bag/fifo', type: 'fifo' },
      { name: 'bag/ok.txt', body: 'fine' },
    ]);
    const result = await extractBundle(bundle, dest);
    expect(result.refused.map((r) => r.name)).toEqual([
      '/etc/evil',
      'bag/../../escaped',
      'bag/up',
      'bag/abs',
      'bag/dot/../../through-dot',
      'bag/hard',
      'bag/null',
      'bag/fifo',
    ]);
    // Only the destination was written to, and it holds no link that leads out.
    expect(readdirSync(outer)).toEqual(['out']);
    expect(readFileSync(join(dest, 'bag/ok.txt'), 'utf8')).toBe('fine');
    expect(existsSync(join(dest, 'bag/up'))).toBe(false);
    expect(existsSync(join(dest, 'bag/null'))).toBe(false);
  });

  it('never writes through a symlink an earlier entry made, nor overwrites a file', async () => {
    const dest = join(await tempDir(), 'out');
    const bundle = await bundleFile([
      { name: 'bag/sub/', type: 'directory' },
      { name: 'bag/link', type: 'symlink', linkname: 'sub' },
      { name: 'bag/link/file', body: 'through a link' },
      { name: 'bag/a.txt', body: 'first' },
      { name: 'bag/a.txt', body: 'second' },
      { name: 'bag/same', type: 'link', linkname: 'bag/a.txt' },
    ]);
    const result = await extractBundle(bundle, dest);
    expect(result.refused.map((r) => r.name)).toEqual(['bag/link/file', 'bag/a.txt']);
    expect(lstatSync(join(dest, 'bag/link')).isSymbolicLink()).toBe(true);
    expect(readdirSync(join(dest, 'bag/sub'))).toEqual([]);
    expect(readFileSync(join(dest, 'bag/a.txt'), 'utf8')).toBe('first');
    expect(statSync(join(dest, 'bag/same')).ino).toBe(statSync(join(dest, 'bag/a.txt')).ino);
  });

  it('names why a path is refused', () => {
    expect(safeRelative('bag/data/./run.json')).toBe('bag/data/run.json');
    expect(safeRelative('/abs')).toEqual({ refused: 'an absolute path' });
    expect(safeRelative('C:/x')).toEqual({ refused: 'an absolute path' });
    expect(safeRelative('a/..\\..\\b')).toEqual({ refused: 'its path climbs out with ..' });
  });
});
