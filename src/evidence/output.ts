/**
 * The bundle's files on disk: the `.partial` file (BundleFile), the tar stream's writer into it,
 * and the paths and steps around it (a free name, directory fsync, the `.sha256` sidecar).
 *
 * The `.partial` file: everything is appended at an offset kept here, because two
 * writers take turns on it: the tar stream (tar-stream's pack, maybe gzipped) and direct entries
 * (direct.ts), which write their content themselves and patch their header in afterwards.
 *
 * The whole-file SHA-256 (the `.sha256` sidecar) is taken on the bytes as they are appended, so a
 * bundle normally needs no re-read. A placeholder that is patched later breaks that: from the
 * first placeholder on, `sha256()` reads the finished file back once, and only from there.
 */
import { createHash } from 'node:crypto';
import { open, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Writable } from 'node:stream';
import { UsageError } from '../errors.js';
import { CHUNK_BYTES, readChunks, writeFully, type Appender } from './file-io.js';
import { manifestText } from './manifest.js';
import { bundleFileName } from './naming.js';

interface Waiter {
  bytes: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class BundleFile implements Appender {
  /** Bytes appended so far, which is also the offset of the next append. */
  end = 0;
  /** Of those, the bytes whose write has completed. */
  private written = 0;
  private readonly hash = createHash('sha256');
  /** Where the streaming hash stopped (the first placeholder); undefined while it covers all. */
  private hashedTo: number | undefined;
  private failure: { error: unknown } | undefined;
  private waiters: Waiter[] = [];
  private closed: Promise<void> | undefined;

  private constructor(private readonly handle: FileHandle) {}

  /** Creates the file, mode 0600, refusing one that exists; opened for reading too (for `sha256`). */
  static async create(path: string): Promise<BundleFile> {
    try {
      return new BundleFile(await open(path, 'wx+', 0o600));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      throw new UsageError(
        `${path} already exists: another run is writing it, or a crashed run left it; move it aside`,
      );
    }
  }

  append(chunks: readonly Buffer[]): Promise<void> {
    if (this.failure) return Promise.reject(this.failure.error);
    const at = this.end;
    const length = chunks.reduce((sum, c) => sum + c.length, 0);
    this.end += length;
    if (this.hashedTo === undefined) for (const chunk of chunks) this.hash.update(chunk);
    return writeFully(this.handle, chunks, at).then(
      () => {
        this.written += length;
        this.wake();
      },
      (error: unknown) => {
        // A failed write leaves a hole of unknown content: nothing after it may be written.
        this.fail(error);
        throw error;
      },
    );
  }

  /** Appends `length` zero bytes to be patched later, and returns their offset. */
  async appendPlaceholder(length: number): Promise<number> {
    const at = this.end;
    this.hashedTo ??= at;
    await this.append([Buffer.alloc(length)]);
    return at;
  }

  /** Overwrites bytes already appended (a placeholder); the append offset does not move. */
  async patch(bytes: Buffer, at: number): Promise<void> {
    if (this.failure) throw this.failure.error;
    if (at < (this.hashedTo ?? this.end) || at + bytes.length > this.end) {
      throw new Error(
        `patch of ${bytes.length} bytes at ${at} is outside the placeholders (${this.hashedTo ?? this.end}-${this.end})`,
      );
    }
    try {
      await writeFully(this.handle, [bytes], at);
    } catch (error) {
      this.fail(error);
      throw error;
    }
  }

  /** Resolves once `bytes` bytes have been written (appends complete in order here). */
  whenWritten(bytes: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure.error);
    if (this.written >= bytes) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ bytes, resolve, reject }));
  }

  /** Refuses every later write and wakes every waiter with `error`; the first error wins. */
  fail(error: unknown): void {
    this.failure ??= { error };
    for (const waiter of this.waiters.splice(0)) waiter.reject(this.failure.error);
  }

  /**
   * The SHA-256 of the whole file; call once, after the last write. Reads back only what the
   * streaming hash could not cover, with the next read under way while a chunk is hashed.
   */
  async sha256(): Promise<string> {
    if (this.hashedTo !== undefined) {
      for await (const chunk of readChunks(this.handle, this.hashedTo, this.end)) this.hash.update(chunk);
    }
    return this.hash.digest('hex');
  }

  sync(): Promise<void> {
    return this.handle.sync();
  }

  /** Idempotent; waits for writes still in flight (FileHandle.close does). */
  close(): Promise<void> {
    this.closed ??= this.handle.close();
    return this.closed;
  }

  private wake(): void {
    this.waiters = this.waiters.filter((waiter) => {
      if (this.written < waiter.bytes) return true;
      waiter.resolve();
      return false;
    });
  }
}

/**
 * Where the bundle goes. Evidence is never overwritten: a second run in the same second for the
 * same incident and playbook (a script, a quick retry) gets a numbered name instead of an error.
 */
export async function freeBundlePath(opts: {
  dir: string;
  startedAt: Date;
  playbook: string;
  incident: string;
  compression: 'gzip' | 'none';
}): Promise<{ path: string; incident: string }> {
  for (let n = 1; ; n++) {
    const incident = n === 1 ? opts.incident : `${opts.incident}-${n}`;
    const path = join(opts.dir, bundleFileName(opts.startedAt, opts.playbook, incident, opts.compression));
    const taken = await Promise.all(
      [stat(path), stat(`${path}.partial`)].map((p) =>
        p.then(
          () => true,
          () => false,
        ),
      ),
    );
    if (!taken.includes(true)) return { path, incident };
    if (n >= 100)
      throw new UsageError(`bundle ${path} already exists; evidence is never overwritten, use another incident id`);
  }
}

/**
 * The tar stream's way into the file. Chunks that queue up while a write is in flight (a
 * header, a small file, its padding) go out together in one writev, up to CHUNK_BYTES.
 */
export function fileWriter(file: BundleFile): Writable {
  return new Writable({
    highWaterMark: CHUNK_BYTES,
    writev(chunks, callback) {
      file.append(chunks.map(({ chunk }) => chunk as Buffer)).then(() => callback(), callback);
    },
  });
}

/** The rename is only durable once the folder entry itself is on disk. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** `<sha256>  <basename>` in sha256sum format, written under a temporary name then renamed. */
export async function writeSidecar(bundlePath: string, sha256: string): Promise<void> {
  const sidecar = `${bundlePath}.sha256`;
  await rm(`${sidecar}.partial`, { force: true });
  await writeFile(`${sidecar}.partial`, manifestText([{ path: basename(bundlePath), sha256 }]), { mode: 0o600 });
  await rename(`${sidecar}.partial`, sidecar);
}
