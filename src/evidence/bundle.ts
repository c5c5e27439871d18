/**
 * The evidence bundle writer: one tar (optionally gzip) holding one BagIt bag, written as
 * `<name>.partial`, hashed while it is written, fsync'd and renamed only when complete.
 *
 * Many producers add artifacts at once; the tar is sequential, so appends go through one queue.
 * A stream of unknown length is read once and hashed on the way (incoming.ts). It is spooled to
 * a temporary file so it never holds the queue while it trickles in, and copied into the tar
 * when it ends. In an uncompressed bundle a stream that proves large goes direct instead
 * (direct.ts): once it passes DIRECT_AFTER_BYTES and the queue is idle, it takes the queue, the
 * spooled part is copied in, and the rest is written straight into the tar, only once.
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { UsageError, messageOf } from '../errors.js';
import { PAYLOAD_DIR, TAG_FILES, bagInfoText, bagitText, checkBagInfo } from './bagit.js';
import { DIRECT_AFTER_BYTES, writeDirectEntry } from './direct.js';
import { ENTRY_MODE, appendEntry } from './entry.js';
import { createGzipStream } from './gzip.js';
import { Incoming, SpoolFile } from './incoming.js';
import { manifestText, sha256Hex } from './manifest.js';
import { bagName, checkArtifactPath, spoolFileName } from './naming.js';
import { BundleFile, fileWriter, freeBundlePath, syncDirectory, writeSidecar } from './output.js';
import { removeSpool, type ByteSource } from './spool.js';

export interface ArtifactRecord {
  /** Relative to `data/`, e.g. `targets/web-1/inspect.json`. */
  path: string;
  size: number;
  /** SHA-256 of the bytes stored in the tar entry (what `manifest-sha256.txt` lists). */
  sha256: string;
  /**
   * Set only when the entry is in the tar but is not what the producer meant to give: a
   * known-size stream that failed or gave the wrong length (the header was already written, so
   * the entry is zero-filled to its declared size), or a stream of unknown length that failed
   * after it went direct (the entry holds exactly the bytes that arrived). The add call
   * rejected; this says why.
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

export interface FinishedBundle {
  path: string;
  sha256: string;
  size: number;
  /** Something short of failure that the operator must hear (a sidecar not written). */
  warning?: string;
}

type State = 'open' | 'finalizing' | 'finalized' | 'failed' | 'discarded';

export class BundleWriter {
  readonly path: string;
  readonly bagName: string;
  private readonly partialPath: string;
  private readonly pack = tar.pack();
  /** Bytes tar-stream's pack has emitted, to know when all of them are in the file (`flushed`). */
  private packed = 0;
  private readonly output: Promise<void>;
  private broken: unknown;
  private state: State = 'open';
  private queue: Promise<unknown> = Promise.resolve();
  /** Tasks queued or running; 0 means the queue is idle. */
  private queued = 0;
  private readonly inflight = new Set<Promise<void>>();
  private readonly claimed = new Set<string>();
  private readonly records: ArtifactRecord[] = [];
  private readonly tagHashes = new Map<string, string>();
  private readonly spools = new Set<string>();

  private constructor(
    private readonly opts: BundleOptions,
    path: string,
    private readonly file: BundleFile,
  ) {
    this.path = path;
    this.partialPath = `${path}.partial`;
    this.bagName = bagName(opts.startedAt, opts.playbook, opts.incident);
    // Everything pack emits goes through push (headers, bodies, padding, the end blocks).
    const push = this.pack.push.bind(this.pack);
    this.pack.push = (chunk: unknown): boolean => {
      if (chunk) this.packed += (chunk as Uint8Array).byteLength;
      return push(chunk);
    };
    // tar-stream's pack is a streamx Readable: Node's pipeline drives it (pipe, errors, close)
    // though its typings do not say so. The file hashes what it is given (output.ts).
    const tarBytes = this.pack as unknown as NodeJS.ReadableStream;
    const toDisk = fileWriter(file);
    this.output =
      opts.compression === 'gzip' ? pipeline(tarBytes, createGzipStream(), toDisk) : pipeline(tarBytes, toDisk);
    this.output.catch((error: unknown) => {
      this.broken ??= error;
      file.fail(error); // wakes a direct entry waiting in `flushed`
    });
  }

  static async open(opts: BundleOptions): Promise<BundleWriter> {
    checkBagInfo(opts.bagInfo);
    await mkdir(opts.dir, { recursive: true, mode: 0o700 });
    const { path, incident } = await freeBundlePath(opts);
    const writer = new BundleWriter({ ...opts, incident }, path, await BundleFile.create(`${path}.partial`));
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
    return this.track(
      rel,
      this.enqueuePayload(rel, body.length, () => [body]),
    );
  }

  /**
   * Takes ownership of `source`: it is read to the end, or destroyed if the add is refused or
   * fails, so a producer's socket is never left open behind a rejection.
   */
  async addStream(
    relPath: string,
    source: NodeJS.ReadableStream | Readable,
    opts: { size?: number } = {},
  ): Promise<ArtifactRecord> {
    try {
      const rel = this.claim(relPath);
      const { size } = opts;
      if (size === undefined) return await this.track(rel, this.addUnknownLength(rel, source));
      if (!Number.isSafeInteger(size) || size < 0)
        throw new Error(`addStream ${rel}: size must be a whole number of bytes, got ${size}`);
      // Known length: straight into the tar, hashed on the way; it holds the queue meanwhile.
      return await this.track(
        rel,
        this.enqueuePayload(rel, size, () => source),
      );
    } catch (error) {
      if ('destroy' in source && typeof source.destroy === 'function') source.destroy();
      throw error;
    }
  }

  /** Why the tar can no longer be written (a failed write: a full disk, an I/O error); undefined while it can. */
  get failure(): unknown {
    return this.broken;
  }

  /** Payload files added so far, in the order they went into the tar. */
  artifacts(): ArtifactRecord[] {
    return this.records.map((r) => ({ ...r }));
  }

  /**
   * Waits for every add in flight (a hung producer stream must be aborted by its owner first),
   * writes the tag files, and turns the partial file into the bundle.
   */
  async finalize(): Promise<FinishedBundle> {
    this.assertOpen('finalize');
    this.state = 'finalizing';
    await Promise.all([...this.inflight]);
    let sha256: string;
    try {
      await this.writeTagFiles();
      this.pack.finalize();
      await this.output;
      // Durable before it gets its final name: a crash never leaves a truncated file called final.
      // A bundle with a direct entry is read back for its hash meanwhile (output.ts).
      [sha256] = await Promise.all([this.file.sha256(), this.file.sync()]);
      await this.file.close();
      await rename(this.partialPath, this.path);
    } catch (error) {
      this.state = 'failed';
      this.broken ??= error;
      await this.file.close().catch(() => undefined);
      throw new Error(`could not finalise bundle ${this.partialPath} (kept as is): ${messageOf(error)}`, {
        cause: error,
      });
    }
    this.state = 'finalized';
    const finished: FinishedBundle = { path: this.path, sha256, size: this.file.end };
    // The bundle is whole and named: a sidecar that cannot be written (a full disk) is said, not fatal.
    try {
      await syncDirectory(dirname(this.path));
      await writeSidecar(this.path, sha256);
    } catch (error) {
      finished.warning = `its .sha256 sidecar could not be written: ${messageOf(error)}`;
    }
    return finished;
  }

  /**
   * Stops writing and closes the partial file, which is left where it is: the bundle could not be
   * finished here (a full disk), and what it holds is evidence until it is safe elsewhere.
   */
  async abandon(reason: unknown): Promise<string> {
    if (this.state === 'finalized' || this.state === 'discarded')
      throw new Error(`bundle ${this.path} is ${this.state}; nothing to abandon`);
    this.state = 'failed';
    this.broken ??= reason;
    this.file.fail(reason);
    this.pack.destroy(reason instanceof Error ? reason : new Error(messageOf(reason)));
    await this.output.catch(() => undefined);
    await this.file.close().catch(() => undefined);
    await Promise.all([...this.spools].map((p) => removeSpool(p).catch(() => undefined)));
    return this.partialPath;
  }

  /** Removes the partial file and any spool files: only for a run that must leave nothing. */
  async discard(): Promise<void> {
    if (this.state === 'finalized')
      throw new Error(`bundle ${this.path} is already finalised; discard refuses to remove evidence`);
    if (this.state === 'discarded') return;
    this.state = 'discarded';
    const reason = new Error(`bundle ${this.path} was discarded`);
    // A direct entry's next write fails with this, and it stops reading its producer.
    this.file.fail(reason);
    this.pack.destroy(reason);
    await this.output.catch(() => undefined);
    await this.file.close().catch(() => undefined);
    await rm(this.partialPath, { force: true });
    // A producer still spooling keeps writing to an unlinked file until its stream ends.
    await Promise.all([...this.spools].map((p) => removeSpool(p)));
  }

  /**
   * Spools the stream, hashing it on the way, until it ends, then copies it in as an entry of
   * known size; or, uncompressed, goes direct part way (see DIRECT_AFTER_BYTES). A stream that
   * fails while spooled leaves nothing in the tar, and its path may be used again.
   */
  private async addUnknownLength(rel: string, source: AsyncIterable<Buffer | string>): Promise<ArtifactRecord> {
    const spoolPath = join(dirname(this.path), spoolFileName(basename(this.path)));
    this.spools.add(spoolPath);
    const incoming = new Incoming(source);
    let spool: SpoolFile | undefined;
    try {
      spool = await SpoolFile.create(spoolPath);
      const spooled = spool;
      let direct: Promise<ArtifactRecord> | undefined;
      // Checked before each chunk is read. A stream that cannot have the queue keeps spooling, so
      // concurrent producers never wait on each other's sources: two exports read from the engine
      // at once, and coupled streams (a log's stdout and stderr, fed by one demultiplexer) cannot
      // deadlock. The queue is taken in the same tick as the check, so no other stream can see it
      // idle meanwhile; the entry flushes the spool first thing.
      const goDirect = (): boolean => {
        if (this.opts.compression !== 'none' || incoming.size < DIRECT_AFTER_BYTES || this.queued > 0) return false;
        direct = this.enqueue(() => this.appendDirect(rel, incoming, spooled));
        return true;
      };
      await spooled.fill(incoming, goDirect);
      if (direct) return await direct;
      return await this.enqueuePayload(rel, incoming.size, () => spooled.chunks(), incoming.sha256());
    } catch (error) {
      await incoming.stop();
      throw error;
    } finally {
      this.spools.delete(spoolPath);
      await (spool ? spool.remove() : removeSpool(spoolPath));
    }
  }

  /** The rest of `incoming` straight into the tar, after what `spool` holds. Runs in the queue. */
  private async appendDirect(rel: string, incoming: Incoming, spool: SpoolFile): Promise<ArtifactRecord> {
    let result;
    try {
      await this.flushed();
      const header = { name: `${this.bagName}/${PAYLOAD_DIR}${rel}`, mode: ENTRY_MODE, mtime: new Date() };
      result = await writeDirectEntry(this.file, header, spool, incoming);
    } catch (error) {
      // The file now holds a placeholder that was never patched: no further entry may follow.
      this.broken ??= error;
      this.file.fail(error);
      this.pack.destroy(error as Error);
      // A producer that failed first is still the cause its owner should see (as when spooled).
      throw incoming.failure ?? error;
    }
    const record: ArtifactRecord = { path: rel, size: result.size, sha256: result.sha256 };
    if (result.problem) record.incomplete = messageOf(result.problem);
    this.records.push(record);
    if (result.problem) throw result.problem;
    return record;
  }

  /** Resolves once every byte tar-stream's pack has emitted is in the file. */
  private flushed(): Promise<void> {
    return this.file.whenWritten(this.packed);
  }

  /**
   * Appends one payload entry and records it. With `knownSha256` (a spooled stream, hashed as it
   * was spooled) the copy is not hashed again: the entry's length is still enforced, and a copy
   * from our own 0600 spool can differ from what was spooled only through an I/O error, which
   * fails the copy. So the manifest describes the tar by construction.
   */
  private enqueuePayload(
    rel: string,
    size: number,
    source: () => ByteSource,
    knownSha256?: string,
  ): Promise<ArtifactRecord> {
    return this.enqueue(async () => {
      const entry = await appendEntry(this.pack, this.bagName, `${PAYLOAD_DIR}${rel}`, size, source, knownSha256);
      const record: ArtifactRecord = { path: rel, size, sha256: entry.sha256! };
      if (entry.problem) record.incomplete = messageOf(entry.problem);
      this.records.push(record);
      if (entry.problem) throw entry.problem;
      return record;
    });
  }

  private async appendTag(name: string, text: string): Promise<void> {
    const body = Buffer.from(text, 'utf8');
    const entry = await this.enqueue(() => appendEntry(this.pack, this.bagName, name, body.length, () => [body]));
    if (entry.problem) throw entry.problem;
    this.tagHashes.set(name, sha256Hex(body));
  }

  private async writeTagFiles(): Promise<void> {
    const octets = this.records.reduce((sum, r) => sum + r.size, 0);
    await this.appendTag(
      TAG_FILES.bagInfo,
      bagInfoText(new Date(), { octets, count: this.records.length }, this.opts.bagInfo),
    );
    await this.appendTag(
      TAG_FILES.manifest,
      manifestText(this.records.map((r) => ({ path: `${PAYLOAD_DIR}${r.path}`, sha256: r.sha256 }))),
    );
    const tags = [TAG_FILES.bagit, TAG_FILES.bagInfo, TAG_FILES.manifest];
    await this.appendTag(
      TAG_FILES.tagManifest,
      manifestText(tags.map((path) => ({ path, sha256: this.tagHashes.get(path)! }))),
    );
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    this.queued++;
    const run = this.queue.then(() => {
      this.assertWritable();
      return task();
    });
    this.queue = run.catch(() => undefined).finally(() => this.queued--);
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
    if (this.claimed.has(relPath))
      throw new UsageError(`artifact data/${relPath} is already in bundle ${this.path}; each path is written once`);
    this.claimed.add(relPath);
    return relPath;
  }

  private assertOpen(action: string): void {
    if (this.state !== 'open') throw new Error(`cannot ${action}: bundle ${this.path} is ${this.state}`);
  }

  private assertWritable(): void {
    if (this.state === 'discarded') throw new Error(`bundle ${this.path} was discarded`);
    if (this.broken !== undefined) {
      throw new Error(`bundle ${this.partialPath} can no longer be written: ${messageOf(this.broken)}`, {
        cause: this.broken,
      });
    }
  }
}
