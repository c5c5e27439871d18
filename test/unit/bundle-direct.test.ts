// Direct entries: in an uncompressed bundle, a large stream of unknown length goes straight into
// the tar and its header is patched in at the end (src/evidence/direct.ts, ustar.ts).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, open, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable, type Writable } from 'node:stream';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { BundleWriter, type BundleOptions } from '../../src/evidence/bundle.js';
import { DIRECT_AFTER_BYTES } from '../../src/evidence/direct.js';
import { fileHeader, padding } from '../../src/evidence/ustar.js';
import { verifyBundle } from '../../src/evidence/verify.js';
import { useTempDirs } from './temp-dirs.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const tempDir = useTempDirs('firebreak-direct-');

function options(dir: string): BundleOptions {
  return {
    dir,
    playbook: 'forensics',
    incident: `INC-${Math.random().toString(36).slice(2, 8)}`,
    compression: 'none',
    startedAt: new Date('2025-03-04T05:06:07.890Z'),
    bagInfo: { 'External-Identifier': 'INC-42' },
  };
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A chunk whose bytes depend on the stream's seed and the chunk's index, fresh each time. */
function chunkOf(seed: number, index: number, size: number): Buffer {
  return Buffer.alloc(size, `${seed}:${index};`);
}

/** `size` bytes of unknown length, in `chunkSize` chunks, yielding to the event loop now and then. */
function generated(
  seed: number,
  size: number,
  chunkSize = 256 * 1024,
  failure?: Error,
): { stream: Readable; hash: () => string } {
  const hash = createHash('sha256');
  let digest: string | undefined;
  const stream = Readable.from(
    (async function* () {
      for (let at = 0, i = 0; at < size; i++) {
        const chunk = chunkOf(seed, i, Math.min(chunkSize, size - at));
        at += chunk.length;
        hash.update(chunk);
        if (i % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
        yield chunk;
      }
      if (failure) throw failure;
    })(),
  );
  return { stream, hash: () => (digest ??= hash.digest('hex')) };
}

/** Writes to a PassThrough as a socket-fed producer does: waits for 'drain' when told to. */
async function feed(target: Writable, chunk: Buffer): Promise<void> {
  if (!target.write(chunk)) await new Promise((resolve) => target.once('drain', resolve));
}

function unpack(bundle: string, into: string, bag: string): string {
  execFileSync('tar', ['-xf', bundle, '-C', into]);
  return join(into, bag);
}

function sha256sumCheck(dir: string, list: string): string {
  return execFileSync('sha256sum', ['-c', list], { cwd: dir, encoding: 'utf8' });
}

/** The finished bundle read by the system tools and by verifyBundle; returns the unpacked bag. */
async function checkBundle(
  writer: BundleWriter,
  done: { path: string; sha256: string; size: number },
): Promise<string> {
  const report = await verifyBundle(done.path);
  expect(report.problems).toEqual([]);
  expect(report.ok).toBe(true);
  const [systemHash] = execFileSync('sha256sum', [done.path], { encoding: 'utf8' }).split(' ');
  expect(done.sha256).toBe(systemHash);
  expect(await readFile(`${done.path}.sha256`, 'utf8')).toMatch(new RegExp(`^${systemHash}  `));
  expect(done.size).toBe((await stat(done.path)).size);
  const bag = unpack(done.path, await tempDir(), writer.bagName);
  expect(sha256sumCheck(bag, 'manifest-sha256.txt')).not.toMatch(/FAILED/);
  expect(sha256sumCheck(bag, 'tagmanifest-sha256.txt')).not.toMatch(/FAILED/);
  return bag;
}

/** The first `length` bytes tar-stream's pack emits for a file entry with these fields. */
async function tarStreamHeader(name: string, size: number, mtime: Date, length: number): Promise<Buffer> {
  const pack = tar.pack();
  const parts: Buffer[] = [];
  let have = 0;
  const got = new Promise<void>((resolve) => {
    pack.on('data', (data) => {
      const chunk = data as Buffer;
      parts.push(chunk);
      have += chunk.length;
      if (have >= length) resolve();
    });
  });
  pack.entry({ name, size, mode: 0o600, mtime, type: 'file' });
  await got;
  pack.destroy();
  return Buffer.concat(parts).subarray(0, length);
}

describe('the tar header of a direct entry', () => {
  const mtime = new Date('2025-03-04T05:06:07.000Z');
  const bag = '20250304T050607Z_forensics_INC-42';
  const names = {
    short: `${bag}/data/targets/web-1/filesystem.tar`,
    'split into prefix and name': `${bag}/data/targets/${'a'.repeat(60)}/${'b'.repeat(90)}.tar`,
    'not ASCII (pax)': `${bag}/data/targets/wéb-1/filesystem.tar`,
    'too long for ustar (pax)': `${bag}/data/${'deep/'.repeat(60)}filesystem.tar`,
  };
  const sizes = [0, 1, 511, 512, 8 * GiB - 1, 8 * GiB, 64 * GiB, 64 * GiB + 3];

  for (const [kind, name] of Object.entries(names)) {
    it(`has the bytes tar-stream writes for a name that is ${kind}, at every size up to 64 GiB`, async () => {
      const length = fileHeader({ name, size: 0, mode: 0o600, mtime }).length;
      expect(length % 512).toBe(0);
      for (const size of sizes) {
        const ours = fileHeader({ name, size, mode: 0o600, mtime });
        expect(ours.length).toBe(length);
        expect(ours.equals(await tarStreamHeader(name, size, mtime, length))).toBe(true);
      }
    });
  }

  it('gives a 64 GiB size that GNU tar and tar-stream read back', async () => {
    const dir = await tempDir();
    const size = 64 * GiB + 5;
    const header = fileHeader({ name: 'bag/data/huge.bin', size, mode: 0o600, mtime });
    // A sparse archive: the header, then a hole as long as the entry, its padding and the end blocks.
    const path = join(dir, 'huge.tar');
    const handle = await open(path, 'w');
    await handle.write(header, 0, header.length, 0);
    await handle.truncate(header.length + size + padding(size).length + 1024);
    await handle.close();
    expect(execFileSync('tar', ['-tvf', path], { encoding: 'utf8' })).toMatch(
      new RegExp(` ${size} .* bag/data/huge.bin\\n$`),
    );

    const extract = tar.extract();
    const seen = new Promise<number | undefined>((resolve) => extract.on('entry', (h) => resolve(h.size)));
    extract.write(header);
    expect(await seen).toBe(size);
    extract.destroy();
  });

  it('pads an entry to a whole number of 512-byte blocks', () => {
    expect([0, 1, 511, 512, 513].map((n) => padding(n).length)).toEqual([0, 511, 1, 0, 511]);
    expect(padding(3).every((b) => b === 0)).toBe(true);
  });
});

describe('BundleWriter, uncompressed, with a large stream of unknown length', () => {
  it('writes it straight into the tar before it ends, and the bundle unpacks and verifies', async () => {
    const dir = await tempDir();
    const writer = await BundleWriter.open(options(dir));
    await writer.addFile('inspect.json', '{"Id":"abc"}');
    const source = new PassThrough();
    const hash = createHash('sha256');
    const added = writer.addStream('targets/web-1/filesystem.tar', source);
    let sent = 0;
    for (let i = 0; sent < DIRECT_AFTER_BYTES + 16 * MiB; i++) {
      const chunk = chunkOf(1, i, MiB);
      hash.update(chunk);
      sent += chunk.length;
      await feed(source, chunk);
    }
    // The stream is still open, yet its bytes are already in the bundle and the spool is gone.
    const partial = `${writer.path}.partial`;
    await expect.poll(async () => (await stat(partial)).size, { timeout: 10_000 }).toBeGreaterThanOrEqual(sent);
    expect((await readdir(dir)).filter((n) => n.includes('.spool-'))).toEqual([]);
    // Until its header is patched in, the entry starts with zeros: a reader of the file as it is
    // now (after a crash, say) sees the end of the archive there, after every earlier entry.
    const snapshot = join(await tempDir(), 'crashed.tar');
    await copyFile(partial, snapshot);
    const listed = execFileSync('tar', ['-tf', snapshot], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    expect(listed).toBe(`${writer.bagName}/bagit.txt\n${writer.bagName}/data/inspect.json\n`);
    const tail = Buffer.from('the end, not a whole block');
    hash.update(tail);
    source.end(tail);
    const record = await added;
    await writer.addFile('run.json', '{}');
    const done = await writer.finalize();

    expect(record).toEqual({
      path: 'targets/web-1/filesystem.tar',
      size: sent + tail.length,
      sha256: hash.digest('hex'),
    });
    const bag = await checkBundle(writer, done);
    expect((await stat(join(bag, 'data/targets/web-1/filesystem.tar'))).size).toBe(sent + tail.length);
    expect(await readFile(join(bag, 'data/run.json'), 'utf8')).toBe('{}');
    expect((await readdir(dir)).sort()).toEqual([`${writer.bagName}.tar`, `${writer.bagName}.tar.sha256`]);
  });

  it('names a direct entry that ustar cannot hold through a pax header, as tar-stream would', async () => {
    const dir = await tempDir();
    const writer = await BundleWriter.open(options(dir));
    const rel = `targets/wéb-1/${'deep/'.repeat(40)}filesystem.tar`;
    const { stream, hash } = generated(4, DIRECT_AFTER_BYTES + MiB + 1);
    const record = await writer.addStream(rel, stream);
    const done = await writer.finalize();

    expect(record.sha256).toBe(hash());
    const bag = await checkBundle(writer, done);
    expect((await stat(join(bag, 'data', rel))).size).toBe(DIRECT_AFTER_BYTES + MiB + 1);
  }, 60_000);

  it('keeps every entry intact while several producers add files and streams during a direct entry', async () => {
    const dir = await tempDir();
    const writer = await BundleWriter.open(options(dir));
    const expected = new Map<string, string>();
    // One export fed by hand, until it is going direct.
    const first = new PassThrough();
    const firstHash = createHash('sha256');
    const adds: Array<Promise<unknown>> = [writer.addStream('targets/web-0/filesystem.tar', first)];
    let chunkIndex = 0;
    const feedFirst = async (bytes: number): Promise<void> => {
      for (let sent = 0; sent < bytes; sent += MiB) {
        const chunk = chunkOf(0, chunkIndex++, MiB);
        firstHash.update(chunk);
        await feed(first, chunk);
        if (chunkIndex % 4 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    };
    await feedFirst(DIRECT_AFTER_BYTES + 2 * MiB);
    await expect
      .poll(async () => (await stat(`${writer.path}.partial`)).size, { timeout: 10_000 })
      .toBeGreaterThan(DIRECT_AFTER_BYTES);

    // Meanwhile everyone else: two more exports, documents, known-size archives, logs.
    const bigs = [1, 2].map((t) => ({ t, ...generated(t, DIRECT_AFTER_BYTES + (5 + t) * MiB + 123) }));
    for (const { t, stream } of bigs) adds.push(writer.addStream(`targets/web-${t}/filesystem.tar`, stream));
    for (let t = 0; t < 3; t++) {
      for (let i = 0; i < 10; i++) {
        const body = `{"target":${t},"file":${i}}`.repeat(i * 50 + 1);
        expected.set(`targets/web-${t}/doc-${i}.json`, sha256(body));
        adds.push(
          new Promise((resolve) => setTimeout(resolve, i * 3)).then(() =>
            writer.addFile(`targets/web-${t}/doc-${i}.json`, body),
          ),
        );
      }
      const known = chunkOf(10 + t, 0, 2 * MiB + 7);
      expected.set(`targets/web-${t}/files.tar`, sha256(known));
      adds.push(
        writer.addStream(`targets/web-${t}/files.tar`, Readable.from([known.subarray(0, MiB), known.subarray(MiB)]), {
          size: known.length,
        }),
      );
      const log = generated(20 + t, 300 * 1024, 4096);
      adds.push(
        writer
          .addStream(`targets/web-${t}/logs.stdout.log`, log.stream)
          .then(() => expected.set(`targets/web-${t}/logs.stdout.log`, log.hash())),
      );
    }
    await feedFirst(16 * MiB);
    first.end();
    await Promise.all(adds);
    expected.set('targets/web-0/filesystem.tar', firstHash.digest('hex'));
    for (const { t, hash } of bigs) expected.set(`targets/web-${t}/filesystem.tar`, hash());
    const done = await writer.finalize();

    expect(writer.artifacts()[0]!.path).toBe('targets/web-0/filesystem.tar');
    expect(new Map(writer.artifacts().map((a) => [a.path, a.sha256]))).toEqual(expected);
    expect(writer.artifacts().every((a) => a.incomplete === undefined)).toBe(true);
    await checkBundle(writer, done);
  }, 60_000);

  it('starts a direct entry only after every byte of the entries before it has reached the file', async () => {
    const dir = await tempDir();
    const writer = await BundleWriter.open(options(dir));
    // A known-size entry holds the tar while the export passes the direct threshold, spooling.
    const known = new PassThrough();
    const knownBody = chunkOf(5, 0, 6 * MiB + 333);
    const knownAdded = writer.addStream('targets/web-1/files.tar', known, { size: knownBody.length });
    await feed(known, knownBody.subarray(0, 1000));
    const big = new PassThrough();
    const bigHash = createHash('sha256');
    const bigAdded = writer.addStream('targets/web-1/filesystem.tar', big);
    let index = 0;
    const feedBig = async (): Promise<void> => {
      const chunk = chunkOf(6, index++, MiB);
      bigHash.update(chunk);
      await feed(big, chunk);
    };
    while (index * MiB <= DIRECT_AFTER_BYTES) await feedBig();
    // The known-size entry ends with a large chunk and its padding: when its add resolves, tar-stream
    // has taken them but they are not all in the file yet. The export's next chunk finds the tar idle.
    await feed(known, knownBody.subarray(1000));
    known.end();
    await knownAdded;
    await feedBig();
    big.end();
    await bigAdded;
    const done = await writer.finalize();

    expect(writer.artifacts().map((a) => [a.path, a.sha256])).toEqual([
      ['targets/web-1/files.tar', sha256(knownBody)],
      ['targets/web-1/filesystem.tar', bigHash.digest('hex')],
    ]);
    await checkBundle(writer, done);
  }, 60_000);

  it('spools a stream that cannot have the tar, so one producer feeding two streams never deadlocks', async () => {
    // Like the log demultiplexer: one reader feeds stdout and stderr in turn, and waits for each.
    const dir = await tempDir();
    const writer = await BundleWriter.open(options(dir));
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const out = createHash('sha256');
    const err = createHash('sha256');
    const adds = Promise.all([
      writer.addStream('logs.stdout.log', stdout),
      writer.addStream('logs.stderr.log', stderr),
    ]);
    // Both grow past DIRECT_AFTER_BYTES: the second one to get there finds the tar taken.
    for (let i = 0; i < 80; i++) {
      const a = chunkOf(1, i, MiB);
      const b = chunkOf(2, i, MiB);
      out.update(a);
      err.update(b);
      await feed(stdout, a);
      await feed(stderr, b);
    }
    stdout.end();
    stderr.end();
    const [o, e] = await adds;
    expect([o.sha256, e.sha256]).toEqual([out.digest('hex'), err.digest('hex')]);
    await checkBundle(writer, await writer.finalize());
  }, 60_000);

  it('keeps exactly the bytes received when the producer fails mid-stream, flagged incomplete, and the bundle verifies', async () => {
    const dir = await tempDir();
    const writer = await BundleWriter.open(options(dir));
    const boom = new Error('engine connection reset');
    const size = DIRECT_AFTER_BYTES + 3 * MiB + 1000;
    const { stream, hash } = generated(7, size, 256 * 1024, boom);
    await expect(writer.addStream('targets/web-1/filesystem.tar', stream)).rejects.toBe(boom);
    expect(stream.destroyed).toBe(true);
    await writer.addFile('run.json', '{"status":"aborted"}');
    const done = await writer.finalize();

    expect(writer.artifacts()[0]).toEqual({
      path: 'targets/web-1/filesystem.tar',
      size,
      sha256: hash(),
      incomplete: 'engine connection reset',
    });
    const bag = await checkBundle(writer, done);
    expect((await stat(join(bag, 'data/targets/web-1/filesystem.tar'))).size).toBe(size);
    expect(await readFile(join(bag, 'bag-info.txt'), 'utf8')).toContain(`Payload-Oxum: ${size + 20}.2\n`);
  }, 60_000);

  it('stores an empty stream and a small one as ordinary entries, with the one-pass sidecar hash', async () => {
    const dir = await tempDir();
    const writer = await BundleWriter.open(options(dir));
    const [empty, small] = await Promise.all([
      writer.addStream('empty.log', Readable.from([])),
      writer.addStream('small.log', Readable.from([Buffer.from('a'), Buffer.from('bc')])),
    ]);
    const done = await writer.finalize();
    expect([empty, small]).toEqual([
      { path: 'empty.log', size: 0, sha256: sha256('') },
      { path: 'small.log', size: 3, sha256: sha256('abc') },
    ]);
    const bag = await checkBundle(writer, done);
    expect((await stat(join(bag, 'data/empty.log'))).size).toBe(0);
  });

  it('removes the partial file when discarded during a direct entry, and stops reading the producer', async () => {
    const dir = await tempDir();
    const writer = await BundleWriter.open(options(dir));
    const source = new PassThrough();
    const added = writer.addStream('targets/web-1/filesystem.tar', source);
    added.catch(() => undefined);
    for (let i = 0, sent = 0; sent <= DIRECT_AFTER_BYTES + 4 * MiB; i++, sent += MiB)
      await feed(source, chunkOf(3, i, MiB));
    await expect
      .poll(async () => (await stat(`${writer.path}.partial`)).size, { timeout: 10_000 })
      .toBeGreaterThan(DIRECT_AFTER_BYTES);

    await writer.discard();
    expect(await readdir(dir)).toEqual([]);
    // The producer's next bytes meet a discarded bundle: the add fails and the source is destroyed.
    for (let i = 0; i < 4 && !source.destroyed; i++) source.write(chunkOf(3, i, MiB));
    await expect(added).rejects.toThrow(/was discarded/);
    expect(source.destroyed).toBe(true);
    expect(await readdir(dir)).toEqual([]);
  }, 60_000);

  it('keeps memory flat while a 300 MiB stream goes direct', async () => {
    const dir = await tempDir();
    const writer = await BundleWriter.open(options(dir));
    const size = 300 * MiB;
    const { stream, hash } = generated(9, size, 64 * 1024);
    global.gc?.();
    const before = process.memoryUsage.rss();
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss());
    }, 10);
    try {
      const record = await writer.addStream('targets/web-1/filesystem.tar', stream);
      expect(record).toEqual({ path: 'targets/web-1/filesystem.tar', size, sha256: hash() });
      const done = await writer.finalize();
      expect(done.size).toBe((await stat(done.path)).size);
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage.rss());
    // A writer that held the stream whole would grow by 300 MiB; a few batches of 1 MiB is the design.
    expect((peak - before) / MiB).toBeLessThan(150);
  }, 120_000);
});
