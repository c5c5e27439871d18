/**
 * The evidence bundle writer: one tar (optionally gzip) holding one BagIt bag, written as
 * `<name>.partial`, hashed while it is written, fsync'd and renamed only when complete.
 *
 * Many producers add artifacts at once; the tar is sequential, so appends go through one queue.
 * A stream of unknown length is spooled first (see spool.ts) so it never holds the queue.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar, { type Pack } from 'tar-stream';
import { UsageError, messageOf } from '../errors.js';
import { PAYLOAD_DIR, TAG_FILES, bagInfoText, bagitText, checkBagInfo } from './bagit.js';
import { createGzipStream } from './gzip.js';
import { DigestStream, manifestText, sha256Hex } from './manifest.js';
import { bagName, bundleFileName, checkArtifactPath, spoolFileName } from './naming.js';
import { removeSpool, spoolStream, type ByteSource } from './spool.js';

export interface ArtifactRecord {
  /** Relative to `data/`, e.g. `targets/web-1/inspect.json`. */
  path: string;
  size: number;
  /** SHA-256 of the bytes stored in the tar entry (what `manifest-sha256.txt` lists). */
  sha256: string;
  /**
   * Set only when the entry is in the tar but is not what the producer meant to give: a
   * known-size stream that failed or gave the wrong length (the header was already written, so
   * the entry is zero-filled to its declared size). The add call rejected; this says why.
   */
  incomplete?: string;
}

export interface BundleOptions {
  dir: string;
  playbook: string;
  incident: string;
  compression: 'gzip' | 'none';
  startedAt: Date;
  /** Extra bag-info.txt fields, written in this order after the computed ones. */
  bagInfo: Record<string, string>;
}

type EntrySink = ReturnType<Pack['entry']>;

type State = 'open' | 'finalizing' | 'finalized' | 'failed' | 'discarded';

export class BundleWriter {
  readonly path: string;
  readonly bagName: string;
  private readonly partialPath: string;
  private readonly pack = tar.pack();
  private readonly fileDigest = new DigestStream();
  private readonly output: Promise<void>;
  private broken: unknown;
  private state: State = 'open';
  private queue: Promise<unknown> = Promise.resolve();
  private readonly inflight = new Set<Promise<void>>();
  private readonly claimed = new Set<string>();
  private readonly records: ArtifactRecord[] = [];
  private readonly tagHashes = new Map<string, string>();
  private readonly spools = new Set<string>();
  private handleClosed: Promise<void> | undefined;

  private constructor(
    private readonly opts: BundleOptions,
    path: string,
    private readonly handle: FileHandle,
  ) {
    this.path = path;
    this.partialPath = `${path}.partial`;
    this.bagName = bagName(opts.startedAt, opts.playbook, opts.incident);
    // tar-stream's pack is a streamx Readable: Node's pipeline drives it (pipe, errors, close)
    // though its typings do not say so.
    const tarBytes = this.pack as unknown as NodeJS.ReadableStream;
    // The file hash is taken on the bytes as they go to disk, so the sidecar never needs a re-read.
    const toDisk = (chunks: AsyncIterable<Buffer>): Promise<void> => writeAll(handle, chunks);
    this.output =
      opts.compression === 'gzip'
        ? pipeline(tarBytes, createGzipStream(), this.fileDigest, toDisk)
        : pipeline(tarBytes, this.fileDigest, toDisk);
    this.output.catch((error: unknown) => {
      this.broken ??= error;
    });
  }

  static async open(opts: BundleOptions): Promise<BundleWriter> {
    checkBagInfo(opts.bagInfo);
    await mkdir(opts.dir, { recursive: true, mode: 0o700 });
    // Evidence is never overwritten: a second run in the same second for the same incident and
    // playbook (a script, a quick retry) gets a numbered name instead of an error.
    let path = '';
    for (let n = 1; ; n++) {
      const incident = n === 1 ? opts.incident : `${opts.incident}-${n}`;
      path = join(opts.dir, bundleFileName(opts.startedAt, opts.playbook, incident, opts.compression));
      const taken = await Promise.all([stat(path), stat(`${path}.partial`)].map((p) => p.then(() => true, () => false)));
      if (!taken.includes(true)) {
        opts = { ...opts, incident: incident };
        break;
      }
      if (n >= 100) throw new UsageError(`bundle ${path} already exists; evidence is never overwritten, use another incident id`);
    }
    const handle = await openPartial(`${path}.partial`);
    const writer = new BundleWriter(opts, path, handle);
    try {
      // bagit.txt goes first so a reader can tell a bag from the first entry, even in a partial file.
      await writer.appendTag(TAG_FILES.bagit, bagitText());
    } catch (error) {
      await writer.discard();
      throw error;
    }
    return writer;
  }

  // Both add methods are async so that every refusal (bad path, duplicate, closed bundle)
  // arrives as a rejection; the path is still claimed synchronously, before any await.
  async addFile(relPath: string, data: string | Buffer): Promise<ArtifactRecord> {
    const rel = this.claim(relPath);
    const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    return this.track(rel, this.enqueuePayload(rel, body.length, () => [body]));
  }

  /**
   * Takes ownership of `source`: it is read to the end, or destroyed if the add is refused or
   * fails, so a producer's socket is never left open behind a rejection.
   */
  async addStream(relPath: string, source: NodeJS.ReadableStream | Readable, opts: { size?: number } = {}): Promise<ArtifactRecord> {
    try {
      const rel = this.claim(relPath);
      const { size } = opts;
      if (size === undefined) return await this.track(rel, this.addSpooled(rel, source));
      if (!Number.isSafeInteger(size) || size < 0) throw new Error(`addStream ${rel}: size must be a whole number of bytes, got ${size}`);
      // Known length: straight into the tar, hashed on the way; it holds the queue meanwhile.
      return await this.track(rel, this.enqueuePayload(rel, size, () => source));
    } catch (error) {
      if ('destroy' in source && typeof source.destroy === 'function') source.destroy();
      throw error;
    }
  }

  /** Payload files added so far, in the order they went into the tar. */
  artifacts(): ArtifactRecord[] {
    return this.records.map((r) => ({ ...r }));
  }

  /**
   * Waits for every add in flight (a hung producer stream must be aborted by its owner first),
   * writes the tag files, and turns the partial file into the bundle.
   */
  async finalize(): Promise<{ path: string; sha256: string; size: number }> {
    this.assertOpen('finalize');
    this.state = 'finalizing';
    await Promise.all([...this.inflight]);
    let renamed = false;
    try {
      await this.writeTagFiles();
      this.pack.finalize();
      await this.output;
      // Durable before it gets its final name: a crash never leaves a truncated file called final.
      await this.handle.sync();
      await this.closeHandle();
      await rename(this.partialPath, this.path);
      renamed = true;
      await syncDirectory(dirname(this.path));
      const sha256 = this.fileDigest.sha256();
      await writeSidecar(this.path, sha256);
      this.state = 'finalized';
      return { path: this.path, sha256, size: this.fileDigest.bytes };
    } catch (error) {
      if (this.state === 'finalizing') this.state = 'failed';
      await this.closeHandle().catch(() => undefined);
      const where = renamed ? `${this.path} (written, but its .sha256 sidecar is not)` : `${this.partialPath} (kept as is)`;
      throw new Error(`could not finalise bundle ${where}: ${messageOf(error)}`, { cause: error });
    }
  }

  /** Removes the partial file and any spool files: only for a run that must leave nothing. */
  async discard(): Promise<void> {
    if (this.state === 'finalized') throw new Error(`bundle ${this.path} is already finalised; discard refuses to remove evidence`);
    if (this.state === 'discarded') return;
    this.state = 'discarded';
    this.pack.destroy(new Error(`bundle ${this.path} was discarded`));
    await this.output.catch(() => undefined);
    await this.closeHandle().catch(() => undefined);
    await rm(this.partialPath, { force: true });
    // A producer still spooling keeps writing to an unlinked file until its stream ends.
    await Promise.all([...this.spools].map((p) => removeSpool(p)));
  }

  private async addSpooled(rel: string, source: ByteSource): Promise<ArtifactRecord> {
    const spoolPath = join(dirname(this.path), spoolFileName(basename(this.path)));
    this.spools.add(spoolPath);
    try {
      const spooled = await spoolStream(spoolPath, source);
      // Large reads: the copy from spool to tar holds the queue, so fewer, bigger chunks matter.
      const fromSpool = (): ByteSource => createReadStream(spoolPath, { highWaterMark: 1024 * 1024 });
      return await this.enqueuePayload(rel, spooled.size, fromSpool, spooled.sha256);
    } finally {
      this.spools.delete(spoolPath);
      await removeSpool(spoolPath);
    }
  }

  /**
   * Appends one payload entry and records it. `spooledSha256` is the hash taken while spooling;
   * the entry is hashed again as it goes into the tar, so the manifest always describes the tar.
   */
  private enqueuePayload(rel: string, size: number, source: () => ByteSource, spooledSha256?: string): Promise<ArtifactRecord> {
    return this.enqueue(async () => {
      const entry = await this.appendEntry(`${PAYLOAD_DIR}${rel}`, size, source);
      let problem = entry.problem;
      if (!problem && spooledSha256 !== undefined && spooledSha256 !== entry.sha256) {
        problem = new Error(`${rel}: the spool file changed between spooling and archiving (hash ${spooledSha256} became ${entry.sha256})`);
      }
      const record: ArtifactRecord = { path: rel, size, sha256: entry.sha256 };
      if (problem) record.incomplete = messageOf(problem);
      this.records.push(record);
      if (problem) throw problem;
      return record;
    });
  }

  private async appendTag(name: string, text: string): Promise<void> {
    const body = Buffer.from(text, 'utf8');
    const entry = await this.enqueue(() => this.appendEntry(name, body.length, () => [body]));
    if (entry.problem) throw entry.problem;
    this.tagHashes.set(name, sha256Hex(body));
  }

  private async writeTagFiles(): Promise<void> {
    const octets = this.records.reduce((sum, r) => sum + r.size, 0);
    await this.appendTag(TAG_FILES.bagInfo, bagInfoText(new Date(), { octets, count: this.records.length }, this.opts.bagInfo));
    await this.appendTag(TAG_FILES.manifest, manifestText(this.records.map((r) => ({ path: `${PAYLOAD_DIR}${r.path}`, sha256: r.sha256 }))));
    const tags = [TAG_FILES.bagit, TAG_FILES.bagInfo, TAG_FILES.manifest];
    await this.appendTag(TAG_FILES.tagManifest, manifestText(tags.map((path) => ({ path, sha256: this.tagHashes.get(path)! }))));
  }

  /**
   * Writes one tar entry of exactly `size` bytes. A failing or wrong-length source cannot undo
   * the header already written, so the entry is completed (cut or zero-filled) to keep the tar
   * readable for every other artifact, and the problem is returned for the caller to report.
   */
  private async appendEntry(relInBag: string, size: number, source: () => ByteSource): Promise<{ sha256: string; problem?: unknown }> {
    let sink!: EntrySink;
    const done = new Promise<void>((resolve, reject) => {
      const header = { name: `${this.bagName}/${relInBag}`, size, mode: 0o600, mtime: new Date(), type: 'file' as const };
      sink = this.pack.entry(header, (error) => (error ? reject(error) : resolve()));
    });
    done.catch(() => undefined); // observed below; this only keeps an early failure from being unhandled
    const feed = new EntryFeed(sink, size, relInBag);
    let problem: unknown;
    try {
      await pipeline(source(), (chunks: AsyncIterable<Buffer | string>) => feed.copy(chunks));
      if (feed.written < size) problem = new Error(`${relInBag}: the stream ended after ${feed.written} of the declared ${size} bytes; the entry was zero-filled`);
    } catch (error) {
      problem = error;
    }
    await feed.fill();
    sink.end(undefined);
    await done;
    return { sha256: feed.sha256(), problem };
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      this.assertWritable();
      return task();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Keeps the add visible to finalize; frees the path again if nothing reached the tar. */
  private track(rel: string, add: Promise<ArtifactRecord>): Promise<ArtifactRecord> {
    const settled = add.then(
      () => undefined,
      () => {
        if (!this.records.some((r) => r.path === rel)) this.claimed.delete(rel);
      },
    );
    this.inflight.add(settled);
    void settled.then(() => this.inflight.delete(settled));
    return add;
  }

  private claim(relPath: string): string {
    this.assertOpen(`add ${relPath}`);
    checkArtifactPath(relPath);
    if (this.claimed.has(relPath)) throw new UsageError(`artifact data/${relPath} is already in bundle ${this.path}; each path is written once`);
    this.claimed.add(relPath);
    return relPath;
  }

  private assertOpen(action: string): void {
    if (this.state !== 'open') throw new Error(`cannot ${action}: bundle ${this.path} is ${this.state}`);
  }

  private assertWritable(): void {
    if (this.state === 'discarded') throw new Error(`bundle ${this.path} was discarded`);
    if (this.broken !== undefined) {
      throw new Error(`bundle ${this.partialPath} can no longer be written: ${messageOf(this.broken)}`, { cause: this.broken });
    }
  }

  private closeHandle(): Promise<void> {
    this.handleClosed ??= this.handle.close();
    return this.handleClosed;
  }
}

const ZEROS = Buffer.alloc(64 * 1024);

/** Feeds one tar entry: hashes exactly what goes in, and never more than the header's size. */
class EntryFeed {
  private readonly hash = createHash('sha256');
  written = 0;

  constructor(
    private readonly sink: EntrySink,
    private readonly size: number,
    private readonly label: string,
  ) {}

  async copy(chunks: AsyncIterable<Buffer | string>): Promise<void> {
    for await (const raw of chunks) {
      const chunk = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
      const room = this.size - this.written;
      if (chunk.length > room) {
        await this.put(chunk.subarray(0, room));
        throw new Error(`${this.label}: the stream gave more than the declared ${this.size} bytes; the entry was cut there`);
      }
      await this.put(chunk);
    }
  }

  async fill(): Promise<void> {
    while (this.written < this.size) await this.put(ZEROS.subarray(0, Math.min(ZEROS.length, this.size - this.written)));
  }

  sha256(): string {
    return this.hash.digest('hex');
  }

  private async put(chunk: Buffer): Promise<void> {
    if (chunk.length === 0) return;
    this.hash.update(chunk);
    this.written += chunk.length;
    if (!this.sink.write(chunk)) await drained(this.sink);
  }
}

/** Resolves on 'drain'; rejects if the entry is torn down first (the whole tar failed). */
function drained(sink: EntrySink): Promise<void> {
  return new Promise((resolve, reject) => {
    if (sink.destroyed || sink.destroying) {
      reject(new Error('the bundle stream closed while an entry was being written'));
      return;
    }
    const onDrain = (): void => {
      sink.off('close', onClose);
      resolve();
    };
    const onClose = (): void => {
      sink.off('drain', onDrain);
      reject(new Error('the bundle stream closed while an entry was being written'));
    };
    sink.once('drain', onDrain);
    sink.once('close', onClose);
  });
}

/**
 * Writes into a handle we keep, so finalize can fsync the very descriptor that wrote the bytes
 * (a fs.WriteStream either closes the handle itself or never lets it close).
 */
async function writeAll(handle: FileHandle, chunks: AsyncIterable<Buffer>): Promise<void> {
  for await (const chunk of chunks) {
    for (let offset = 0; offset < chunk.length; ) {
      const { bytesWritten } = await handle.write(chunk, offset);
      offset += bytesWritten;
    }
  }
}

async function openPartial(partialPath: string): Promise<FileHandle> {
  try {
    return await open(partialPath, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    throw new UsageError(`${partialPath} already exists: another run is writing it, or a crashed run left it; move it aside`);
  }
}

/** The rename is only durable once the folder entry itself is on disk. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** `<sha256>  <basename>` in sha256sum format, written under a temporary name then renamed. */
async function writeSidecar(bundlePath: string, sha256: string): Promise<void> {
  const sidecar = `${bundlePath}.sha256`;
  await rm(`${sidecar}.partial`, { force: true });
  await writeFile(`${sidecar}.partial`, manifestText([{ path: basename(bundlePath), sha256 }]), { mode: 0o600 });
  await rename(`${sidecar}.partial`, sidecar);
}
