/**
 * Where a run's evidence goes when the disk may not take it. Containment must never depend on the
 * evidence folder: a full disk must not stop an isolation, nor lose the record of it.
 *
 * The store writes the bundle in the evidence folder as usual (BundleWriter), and keeps a copy of
 * every small artifact (inspect, networks, run.json, the journal...) in memory, up to a reserve.
 * When the folder cannot take the bundle, at open or at any write later, adds go on into memory,
 * and at the end the bundle is written from memory into a fallback folder (the OS temp dir), and
 * the result says so loudly: where it went, why, and how many bytes the evidence folder lacked.
 * Streams (logs, exports) are not copied: after a failure they are kept in memory only while they
 * fit in what is left of the reserve.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { UsageError, messageOf } from '../errors.js';
import { BundleWriter, type ArtifactRecord, type BundleOptions, type FinishedBundle } from './bundle.js';
import { createRunMarker, removeRunMarker } from './debris.js';
import { freeBytes, prepareEvidenceFolder } from './folder.js';

/** What the memory reserve holds at most: far above a containment run's small artifacts. */
const defaultReserveBytes = 64 * 1024 * 1024;
/** A tar header and padding per entry, plus the tag files: enough to say how much room was missing. */
const perEntryOverhead = 1536;
const tagOverhead = 16 * 1024;
/** Streams up to this size are copied into the reserve too (logs, process lists), larger ones not. */
const streamCopyBytes = 1024 * 1024;

export interface StoreOptions extends BundleOptions {
  /** Where the bundle goes when `dir` cannot take it (default: `<os temp dir>/firebreak-evidence`). */
  fallbackDir?: string;
  reserveBytes?: number;
}

/** The bundle went to the fallback folder: why, and what the evidence folder lacked. */
export interface Fallback {
  folder: string;
  reason: string;
  /** Bytes the bundle's artifacts add up to (uncompressed, with tar overhead). */
  neededBytes: number;
  freeBytes?: number;
  /** The evidence folder's partial file, kept because it holds artifacts the fallback bundle lacks. */
  partialKept?: string;
  /** Artifacts that are in neither bundle (streams that failed with the disk). */
  lost: string[];
}

export interface StoredBundle extends FinishedBundle {
  fallback?: Fallback;
}

/** Where bundles go when the evidence folder cannot take them; restore and revert look here too. */
export function fallbackEvidenceDir(): string {
  return process.env.FIREBREAK_FALLBACK_DIR || join(tmpdir(), 'firebreak-evidence');
}

export class EvidenceStore {
  /** Copies of small artifacts, in the order they were added (what a fallback bundle holds). */
  private readonly kept = new Map<string, Buffer>();
  private keptBytes = 0;
  /** Bytes of every artifact offered, kept or not, for "bytes needed". */
  private offeredBytes = 0;
  private readonly lost: string[] = [];
  private failure: unknown;

  private constructor(
    private readonly opts: StoreOptions,
    private readonly writer: BundleWriter | undefined,
    openFailure: unknown,
  ) {
    this.failure = openFailure;
  }

  /** Opens the bundle in the evidence folder; a folder that cannot take it only switches to memory. */
  static async open(opts: StoreOptions): Promise<EvidenceStore> {
    let writer: BundleWriter;
    try {
      writer = await BundleWriter.open(opts);
    } catch (error) {
      return new EvidenceStore(opts, undefined, error);
    }
    // Tells `bundle recover` and later runs that this partial file has a live writer. A marker that
    // cannot be written (a full disk) only makes them judge by /proc instead.
    await createRunMarker(writer.path).catch(() => undefined);
    return new EvidenceStore(opts, writer, undefined);
  }

  /** The bundle's path in the evidence folder (undefined when it could not even be opened there). */
  get intendedPath(): string | undefined {
    return this.writer?.path;
  }

  /** Why the evidence folder stopped taking the bundle; undefined while it takes it. */
  get problem(): string | undefined {
    return this.failure === undefined ? undefined : messageOf(this.failure);
  }

  async addFile(relPath: string, data: string | Buffer): Promise<ArtifactRecord> {
    const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (this.kept.has(relPath))
      throw new UsageError(`artifact data/${relPath} is already in the bundle; each path is written once`);
    this.offeredBytes += body.length;
    const kept = this.keep(relPath, body);
    if (this.failure === undefined) {
      try {
        return await this.writer!.addFile(relPath, body);
      } catch (error) {
        if (!this.diskFailed(error)) {
          this.forget(relPath);
          throw error;
        }
      }
    }
    if (!kept) throw this.notKept(relPath, body.length);
    return { path: relPath, size: body.length, sha256: sha256Hex(body) };
  }

  async addStream(relPath: string, source: Readable, opts: { size?: number } = {}): Promise<ArtifactRecord> {
    if (this.failure === undefined) {
      const copy: StreamCopy = { chunks: [], whole: true, seen: 0 };
      try {
        const record = await this.writer!.addStream(
          relPath,
          Readable.from(copying(source, copy, streamCopyBytes)),
          opts,
        );
        this.offeredBytes += record.size;
        // A small stream (a log, a process list) is kept like a file: a disk that fills later loses nothing.
        const body = Buffer.concat(copy.chunks);
        if (copy.whole && body.length === record.size) this.keep(relPath, body);
        return record;
      } catch (error) {
        if (this.diskFailed(error)) {
          // What streamed before the disk filled: the least it lacks room for (a cut export's full size is unknown).
          this.offeredBytes += copy.seen;
          this.lost.push(relPath);
          throw new Error(
            `${relPath} not kept: the evidence folder ${this.opts.dir} cannot take it (${messageOf(error)})`,
            { cause: error },
          );
        }
        throw error;
      }
    }
    return this.streamToMemory(relPath, source);
  }

  /** The artifacts the bundle will hold, as run.json lists them. */
  artifacts(): ArtifactRecord[] {
    if (this.failure === undefined) return this.writer!.artifacts();
    return [...this.kept].map(([path, body]) => ({ path, size: body.length, sha256: sha256Hex(body) }));
  }

  /** Finishes the bundle in the evidence folder, or else in the fallback folder from memory. */
  async finalize(): Promise<StoredBundle> {
    try {
      return await this.finalizeSomewhere();
    } finally {
      if (this.writer) await removeRunMarker(this.writer.path).catch(() => undefined);
    }
  }

  private async finalizeSomewhere(): Promise<StoredBundle> {
    if (this.failure === undefined) {
      try {
        return await this.writer!.finalize();
      } catch (error) {
        // The disk's own words (ENOSPC ...), not the writer's account of the partial file it kept.
        this.failure = (error as { cause?: unknown }).cause ?? error;
      }
    }
    return this.finalizeElsewhere();
  }

  private async finalizeElsewhere(): Promise<StoredBundle> {
    const partial = await this.abandonWriter();
    // Streams that reached the partial file before the disk filled are in no memory copy.
    const onlyInPartial = (this.writer?.artifacts() ?? []).filter((a) => !this.kept.has(a.path)).map((a) => a.path);
    const fallback: Fallback = {
      folder: this.opts.dir,
      reason: messageOf(this.failure),
      neededBytes: this.offeredBytes + (this.kept.size + this.lost.length + 4) * perEntryOverhead + tagOverhead,
      freeBytes: await freeBytes(this.opts.dir),
      lost: [...this.lost],
    };
    if (partial) {
      if (onlyInPartial.length) fallback.partialKept = partial;
      // Everything in it is also in the fallback bundle: it only holds the space a full disk lacks.
      else await rm(partial, { force: true });
    }
    const dir = this.opts.fallbackDir ?? fallbackEvidenceDir();
    try {
      const { exposed } = await prepareEvidenceFolder(dir);
      const writer = await BundleWriter.open({ ...this.opts, dir });
      for (const [path, body] of this.kept) await writer.addFile(path, body);
      const finished = await writer.finalize();
      // The fallback is a shared temp folder by default: who else can reach it is said with the bundle.
      const warning = [finished.warning, exposed].filter(Boolean).join('; ');
      return { ...finished, fallback, ...(warning ? { warning } : {}) };
    } catch (error) {
      throw new EvidenceLostError(fallback, dir, error);
    }
  }

  private async abandonWriter(): Promise<string | undefined> {
    if (!this.writer) return undefined;
    try {
      return await this.writer.abandon(this.failure);
    } catch {
      return undefined;
    }
  }

  private async streamToMemory(relPath: string, source: Readable): Promise<ArtifactRecord> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of source) {
        const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
        size += buffer.length;
        if (this.keptBytes + size > this.reserveBytes) throw this.notKept(relPath, size);
        chunks.push(buffer);
      }
    } catch (error) {
      source.destroy();
      this.offeredBytes += size;
      this.lost.push(relPath);
      throw error;
    }
    const body = Buffer.concat(chunks);
    return this.addFile(relPath, body);
  }

  private keep(relPath: string, body: Buffer): boolean {
    if (this.keptBytes + body.length > this.reserveBytes) return false;
    this.kept.set(relPath, body);
    this.keptBytes += body.length;
    return true;
  }

  private forget(relPath: string): void {
    const body = this.kept.get(relPath);
    if (!body) return;
    this.kept.delete(relPath);
    this.keptBytes -= body.length;
  }

  /** True when the writer can no longer write (not a refusal of this one artifact). */
  private diskFailed(error: unknown): boolean {
    if (this.writer?.failure === undefined && !isDiskFull(error)) return false;
    this.failure ??= this.writer?.failure ?? error;
    return true;
  }

  private notKept(relPath: string, size: number): Error {
    this.lost.push(relPath);
    return new Error(
      `${relPath} (${size} bytes) not kept: the evidence folder ${this.opts.dir} cannot take it (${this.problem}) ` +
        `and it does not fit in the ${Math.round(this.reserveBytes / 1048576)} MiB memory reserve left`,
    );
  }

  private get reserveBytes(): number {
    return this.opts.reserveBytes ?? defaultReserveBytes;
  }
}

/** Neither the evidence folder nor the fallback could take the bundle: what was lost and why. */
export class EvidenceLostError extends Error {
  constructor(
    readonly fallback: Fallback,
    readonly fallbackDir: string,
    cause: unknown,
  ) {
    super(
      `no bundle could be written: ${fallback.folder}: ${fallback.reason}; fallback ${fallbackDir}: ${messageOf(cause)}`,
      { cause },
    );
  }
}

interface StreamCopy {
  chunks: Buffer[];
  /** False once the stream outgrew the copy limit (the chunks are then dropped). */
  whole: boolean;
  /** Bytes passed through so far, copied or not. */
  seen: number;
}

/** Passes `source` through, copying it into `copy` while it stays under `limit` bytes. */
async function* copying(
  source: AsyncIterable<Buffer | string>,
  copy: StreamCopy,
  limit: number,
): AsyncGenerator<Buffer> {
  let copied = 0;
  for await (const chunk of source) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    copy.seen += buffer.length;
    if (copy.whole) {
      copied += buffer.length;
      if (copied <= limit) copy.chunks.push(buffer);
      else {
        copy.chunks = [];
        copy.whole = false;
      }
    }
    yield buffer;
  }
}

function isDiskFull(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException)?.code ?? (error as { cause?: NodeJS.ErrnoException })?.cause?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || /ENOSPC|no space left/i.test(messageOf(error));
}

function sha256Hex(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}
