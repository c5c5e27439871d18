import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable, Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createGzipStream } from '../../src/evidence/gzip.js';
import { loadMemberBuilder } from '../../src/evidence/gzip-worker.js';
import { useTempDirs } from './temp-dirs.js';

const MiB = 1 << 20;
const tempDir = useTempDirs('firebreak-gzip-');

/** Text that deflate shrinks a lot, with a counter so that order mistakes show. */
function text(size: number, from = 0): Buffer {
  const lines: string[] = [];
  let length = 0;
  for (let i = from; length < size; i++) {
    const line = `${String(i).padStart(9, '0')} INFO container web-1 status=ok path=/var/lib/app/data.json\n`;
    lines.push(line);
    length += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, size);
}

/** Random and compressible stretches of uneven lengths, so chunk and piece edges fall anywhere. */
function mixed(size: number): Buffer {
  const parts: Buffer[] = [];
  let length = 0;
  for (let i = 0; length < size; i++) {
    const n = Math.min(size - length, 1000 + ((i * 7_919_113) % (900 * 1024)));
    const part = i % 2 === 0 ? randomBytes(n) : text(n, length);
    parts.push(part);
    length += n;
  }
  return Buffer.concat(parts);
}

/** Cuts `data` into writes of odd sizes, from 1 byte to about 300 KiB. */
function oddWrites(data: Buffer): Buffer[] {
  const sizes = [1, 7, 4093, 65_537, 13, 333_331, 1021, 131_071, 2];
  const writes: Buffer[] = [];
  for (let at = 0, i = 0; at < data.length; i++) {
    const n = sizes[i % sizes.length]!;
    writes.push(data.subarray(at, at + n));
    at += n;
  }
  return writes;
}

/** Members built by the workers close their deflate stream with an empty stored block. */
function builtByWorker(member: Buffer): boolean {
  return member.subarray(-13, -8).equals(Buffer.from([1, 0, 0, 0xff, 0xff]));
}

async function gzipAll(writes: Buffer[], gz: Transform = createGzipStream()): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(writes), gz, async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) out.push(chunk);
  });
  return Buffer.concat(out);
}

/**
 * The members of `data`, split where a member header starts. Both zlib and the workers write the
 * same 10-byte header (no name, no mtime, "fastest", Unix); compressed or random bytes repeat it
 * by chance with odds of about 2^-80.
 */
function members(data: Buffer): Buffer[] {
  const header = Buffer.from('1f8b0800000000000403', 'hex');
  const starts: number[] = [];
  for (let at = data.indexOf(header); at >= 0; at = data.indexOf(header, at + 1)) starts.push(at);
  expect(starts[0]).toBe(0);
  return starts.map((at, i) => data.subarray(at, starts[i + 1] ?? data.length));
}

describe('parallel gzip stream', () => {
  it('writes one valid empty member for an empty input', async () => {
    const out = await gzipAll([]);
    expect(out.length).toBeGreaterThan(0);
    expect(gunzipSync(out).length).toBe(0);
  });

  it('compresses a tiny input in this process, exactly as zlib does, without starting workers', async () => {
    const input = Buffer.from('{"Id":"abc","State":{"Running":true}}\n'.repeat(100));
    const out = await gzipAll([input]);
    expect(gunzipSync(out)).toEqual(input);
    // The worker path writes other bytes (hand-built members); equal bytes mean plain zlib ran.
    expect(out).toEqual(gzipSync(input, { level: 1 }));
  });

  it('round-trips 10 MiB of random and compressible data written in odd-sized writes', async () => {
    const input = mixed(10 * MiB);
    const out = await gzipAll(oddWrites(input));
    expect(gunzipSync(out).equals(input)).toBe(true);
    // Random halves stay about their size, text shrinks: the whole is clearly smaller.
    expect(out.length).toBeLessThan(input.length * 0.8);
    expect(out.length).toBeGreaterThan(input.length * 0.4);
  });

  it('compresses input that waits for more as a member of its own, so it reaches the file before the end', async () => {
    const gz = createGzipStream({ idleFlushMs: 50 });
    const out: Buffer[] = [];
    gz.on('data', (member: Buffer) => out.push(member));
    gz.write(Buffer.from('inspect.json of a container that is about to be killed'));
    await new Promise((res) => setTimeout(res, 300));
    expect(gunzipSync(Buffer.concat(out)).toString()).toBe('inspect.json of a container that is about to be killed');
    gz.end(Buffer.from(', and what came after'));
    await new Promise((res) => gz.on('end', res));
    expect(gunzipSync(Buffer.concat(out)).toString()).toBe(
      'inspect.json of a container that is about to be killed, and what came after',
    );
  });

  it('emits one member per chunk, in input order, whatever order the workers finish in', async () => {
    // Small chunks, alternately slow (text) and fast (random, stored) to compress.
    const chunk = 64 * 1024;
    const parts = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? randomBytes(chunk) : text(chunk, i * 10_000)));
    const input = Buffer.concat(parts);
    // A pause after the first chunks lets the workers come up: members come from both paths.
    async function* source(): AsyncGenerator<Buffer> {
      yield* oddWrites(input.subarray(0, 6 * chunk + 5));
      await new Promise((res) => setTimeout(res, 1000));
      yield* oddWrites(input.subarray(6 * chunk + 5));
    }
    const out: Buffer[] = [];
    // No idle flush: the pause must not cut a member short here.
    await pipeline(
      source,
      createGzipStream({ chunkSize: chunk, workers: 3, idleFlushMs: 0 }),
      async (gz: AsyncIterable<Buffer>) => {
        for await (const member of gz) out.push(member);
      },
    );
    expect(gunzipSync(Buffer.concat(out)).equals(input)).toBe(true);
    const found = members(Buffer.concat(out));
    expect(found).toHaveLength(40);
    expect(found.some(builtByWorker)).toBe(true);
    expect(found.every(builtByWorker)).toBe(false);
    found.forEach((member, i) => expect(gunzipSync(member).equals(parts[i]!)).toBe(true));
  });

  it('writes a file the gzip command accepts and decompresses to the input', async () => {
    const input = mixed(3 * MiB + 12_345);
    const path = join(await tempDir(), 'out.gz');
    await writeFile(path, await gzipAll(oddWrites(input), createGzipStream({ chunkSize: 256 * 1024 })));
    execFileSync('gunzip', ['-t', path]);
    const back = execFileSync('gzip', ['-dc', path], { maxBuffer: 64 * MiB });
    expect(back.equals(input)).toBe(true);
  });

  it('honours the level: 0 stores, 9 compresses', async () => {
    const input = text(2 * MiB + 1);
    const stored = await gzipAll([input], createGzipStream({ level: 0, chunkSize: 512 * 1024 }));
    const best = await gzipAll([input], createGzipStream({ level: 9, chunkSize: 512 * 1024 }));
    expect(gunzipSync(stored).equals(input)).toBe(true);
    expect(gunzipSync(best).equals(input)).toBe(true);
    expect(stored.length).toBeGreaterThan(input.length);
    expect(best.length).toBeLessThan(input.length / 5);
  });

  it('compresses on libuv threads alone when asked for no workers', async () => {
    const input = mixed(3 * MiB);
    const out = await gzipAll(oddWrites(input), createGzipStream({ workers: 0 }));
    expect(gunzipSync(out).equals(input)).toBe(true);
  });

  it('refuses out-of-range options', () => {
    expect(() => createGzipStream({ level: 10 })).toThrow(RangeError);
    expect(() => createGzipStream({ chunkSize: 10 })).toThrow(RangeError);
    expect(() => createGzipStream({ workers: -1 })).toThrow(RangeError);
  });

  it('stops taking input when nobody reads its output, so memory stays bounded', async () => {
    const gz = createGzipStream({ chunkSize: MiB });
    const block = randomBytes(64 * 1024);
    let accepted = 0;
    // Write until a write is not acknowledged within a while: the stream holds its callback
    // once its chunks in flight and its readable buffer are full.
    for (;;) {
      const acked = await Promise.race([
        new Promise<boolean>((res) => gz.write(block, () => res(true))),
        new Promise<boolean>((res) => setTimeout(() => res(false), 500)),
      ]);
      if (!acked) break;
      accepted += block.length;
      expect(accepted).toBeLessThan(64 * MiB);
    }
    expect(accepted).toBeGreaterThan(MiB);
    gz.destroy();
  });

  it('fails the pipeline with the error of a stream destroyed mid-way, without hanging', async () => {
    const gz = createGzipStream({ chunkSize: 256 * 1024 });
    const boom = new Error('boom');
    let sent = 0;
    const source = new Readable({
      read() {
        sent += 64 * 1024;
        if (sent === 2 * MiB) gz.destroy(boom);
        this.push(randomBytes(64 * 1024));
      },
    });
    const sink = new Writable({ write: (_chunk, _enc, cb) => cb() });
    await expect(pipeline(source, gz, sink)).rejects.toBe(boom);
  });

  it('fails the pipeline when its source fails', async () => {
    const input = mixed(3 * MiB);
    async function* source(): AsyncGenerator<Buffer> {
      yield input.subarray(0, 2 * MiB);
      throw new Error('source broke');
    }
    const sink = new Writable({ write: (_chunk, _enc, cb) => cb() });
    await expect(pipeline(source, createGzipStream(), sink)).rejects.toThrow('source broke');
  });

  it('lets the process exit after finishing, after a destroy, and when abandoned', async () => {
    const module = resolve(fileURLToPath(import.meta.url), '../../../src/evidence/gzip.ts');
    const script = join(await tempDir(), 'exit.mts');
    await writeFile(
      script,
      `import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzipStream } from ${JSON.stringify(module)};
const data = randomBytes(5 * 1024 * 1024);
const sink = () => new Writable({ write: (_c, _e, cb) => cb() });
await pipeline(Readable.from([data]), createGzipStream(), sink());
const broken = createGzipStream();
broken.write(data);
await new Promise((r) => setTimeout(r, 50));
broken.destroy();
const abandoned = createGzipStream();
abandoned.on('data', () => {});
abandoned.write(data);
await new Promise((r) => setTimeout(r, 100));
console.log('done');
`,
    );
    const started = Date.now();
    const stdout = await new Promise<string>((res, rej) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', script],
        { timeout: 20_000, cwd: resolve(module, '../../..') },
        (error, out, err) => (error ? rej(new Error(`${error.message}\n${err}`)) : res(out)),
      );
    });
    expect(stdout.trim()).toBe('done');
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});

describe('gzip member builder (the code the workers run)', () => {
  const build = loadMemberBuilder();

  it('stores random pieces and deflates compressible ones, in one valid member', () => {
    const random = randomBytes(512 * 1024);
    const words = text(512 * 1024);
    const chunk = Buffer.concat([random, words, random.subarray(0, 100_000)]);
    const out = build(chunk, 1, 256 * 1024);
    expect(gunzipSync(out).equals(chunk)).toBe(true);
    const storedOverhead = 5 * Math.ceil(random.length / 65_535);
    expect(out.length).toBeLessThan(random.length + storedOverhead + 100_000 + 5_000 + words.length / 5);
  });

  it('deflates a piece whose samples are random but whose middle sample compresses', () => {
    const piece = Buffer.concat([randomBytes(100_000), text(60_000), randomBytes(100_000)]);
    const out = build(piece, 1, piece.length);
    expect(gunzipSync(out).equals(piece)).toBe(true);
    expect(out.length).toBeLessThan(piece.length - 40_000);
  });

  it('builds a valid member for an empty chunk and for one byte', () => {
    expect(gunzipSync(build(Buffer.alloc(0), 1, 1024)).length).toBe(0);
    expect(gunzipSync(build(Buffer.from('x'), 1, 1024)).toString()).toBe('x');
  });
});
