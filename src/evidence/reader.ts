/**
 * Reading a bundle back: one sequential pass over the tar (gunzipped when the file says so),
 * handing each entry to a visitor. Used by `bundle show`-style readers and by verify.ts.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar, { type Extract } from 'tar-stream';
import { UsageError, VerifyError, messageOf } from '../errors.js';

export interface BundleEntry {
  /** The entry name as stored in the tar. */
  name: string;
  /** Its first path segment: the bag folder. */
  bag: string;
  /** The rest, e.g. `data/run.json` or `manifest-sha256.txt`; '' for the bag folder itself. */
  rel: string;
  type: string;
  size: number;
  /** Permission bits as stored in the tar header. */
  mode?: number;
  mtime?: Date;
  /** For a symlink or hard link: what it points at, as stored. */
  linkname?: string;
  /** The entry's bytes; read it or leave it, the walker drains what is left. */
  body: AsyncIterable<Buffer>;
}

/** Throws UsageError unless `path` is an existing regular file. */
export async function assertBundleFile(path: string): Promise<void> {
  if (path.trim() === '') throw new UsageError('the bundle path is empty: name a .tar.gz or .tar file');
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new UsageError(`bundle not found: ${path}`);
  if (!info.isFile()) throw new UsageError(`bundle ${path} is not a file`);
}

/** Decided by content, not by name: the gzip magic is 1f 8b. */
export async function startsWithGzipMagic(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const { bytesRead, buffer } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/**
 * Streams the bundle once, calling `visit` for every entry in order. `tap`, when given, sees
 * the raw file bytes (before gunzip), e.g. to hash the whole file in the same pass.
 */
export async function walkBundle(
  path: string,
  visit: (entry: BundleEntry) => Promise<void>,
  tap?: Transform,
): Promise<void> {
  await assertBundleFile(path);
  const gzip = await startsWithGzipMagic(path);
  const extract = tar.extract();
  // tar-stream's extract is a streamx Writable; Node's pipeline drives it, its typings aside.
  const tarSink = extract as unknown as NodeJS.WritableStream;
  const feed = pipeline([createReadStream(path), ...(tap ? [tap] : []), ...(gzip ? [createGunzip()] : []), tarSink]);
  const consume = (async () => {
    for await (const entry of extract) {
      await visit(toBundleEntry(entry));
      // The tar cannot move on until this entry's bytes are read, used or not.
      for await (const _chunk of entry) void _chunk;
    }
  })();
  // Wait for both sides before reporting, so no visitor is still running when we return.
  const [fed, consumed] = await Promise.allSettled([feed, consume]);
  if (fed.status === 'rejected') throw fed.reason;
  if (consumed.status === 'rejected') throw consumed.reason;
}

type TarEntry = Extract extends AsyncIterable<infer E> ? E : never;

function toBundleEntry(entry: TarEntry): BundleEntry {
  const name = entry.header.name;
  const clean = name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  const slash = clean.indexOf('/');
  return {
    name,
    bag: slash === -1 ? clean : clean.slice(0, slash),
    rel: slash === -1 ? '' : clean.slice(slash + 1),
    type: entry.header.type ?? 'file',
    size: entry.header.size ?? 0,
    mode: entry.header.mode,
    mtime: entry.header.mtime,
    linkname: entry.header.linkname ?? undefined,
    body: entry as AsyncIterable<Buffer>,
  };
}

/** Reads a whole entry into memory; only for the small files a caller asks for by name. */
export async function readBody(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** The files (by path inside the bag) for which `want` says yes, read in one pass. */
export async function readBundleEntries(
  path: string,
  want: (relPathInsideBag: string) => boolean,
): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  try {
    await walkBundle(path, async (entry) => {
      if (entry.type === 'file' && entry.rel !== '' && want(entry.rel))
        found.set(entry.rel, await readBody(entry.body));
    });
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new VerifyError(`cannot read bundle ${path}: ${messageOf(error)}; run \`firebreak bundle verify\` on it`, {
      cause: error,
    });
  }
  return found;
}

/** The run record (`data/run.json`), parsed. */
export async function readRunRecord(path: string): Promise<unknown> {
  const entries = await readBundleEntries(path, (rel) => rel === 'data/run.json');
  const body = entries.get('data/run.json');
  if (!body) throw new VerifyError(`bundle ${path} has no data/run.json; is it a firebreak bundle?`);
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch (error) {
    throw new VerifyError(`data/run.json in ${path} is not valid JSON: ${messageOf(error)}`, { cause: error });
  }
}
