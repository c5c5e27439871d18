/**
 * A stream of unknown length on its way into the bundle. It is read once and every chunk is
 * hashed and counted as it arrives, whether it then goes to a spool file or, later, straight
 * into the tar (direct.ts): the SHA-256 in the manifest is this one, taken on the only pass.
 *
 * The spool is a temporary file beside the bundle (same file system, same 0700 folder), written
 * in large batches. Spooling can stop part way (`fill`'s `stop`) so the rest of the stream can go
 * direct; the spooled part is then copied in first.
 */
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { Batcher, readChunks, writeFully, type Appender } from './file-io.js';
import { removeSpool } from './spool.js';

export class Incoming {
  size = 0;
  /** The producer's error, once `next` has rejected with it. */
  failure: unknown;
  private readonly hash = createHash('sha256');
  private readonly chunks: AsyncIterator<Buffer | string>;
  private ended = false;

  constructor(source: AsyncIterable<Buffer | string>) {
    this.chunks = source[Symbol.asyncIterator]();
  }

  /** The next chunk, already hashed and counted; undefined at the end. Rejects with the producer's error. */
  async next(): Promise<Buffer | undefined> {
    if (this.ended) return undefined;
    let step: IteratorResult<Buffer | string>;
    try {
      step = await this.chunks.next();
    } catch (error) {
      this.ended = true;
      this.failure = error;
      throw error;
    }
    if (step.done) {
      this.ended = true;
      return undefined;
    }
    const chunk = typeof step.value === 'string' ? Buffer.from(step.value, 'utf8') : step.value;
    this.hash.update(chunk);
    this.size += chunk.length;
    return chunk;
  }

  /** Only meaningful once the stream has ended (or failed: then it covers what arrived). */
  sha256(): string {
    return this.hash.digest('hex');
  }

  /** Gives up on the rest: a Node stream's iterator destroys the stream, so the producer stops. */
  async stop(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.chunks.return?.().catch(() => undefined);
  }
}

export class SpoolFile implements Appender {
  /** Bytes appended so far. */
  size = 0;
  private readonly out = new Batcher(this);
  private closed: Promise<void> | undefined;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
  ) {}

  /** Creates the file (0600, never reusing one) before anything is read, so cleanup never races a late open. */
  static async create(path: string): Promise<SpoolFile> {
    return new SpoolFile(path, await open(path, 'wx+', 0o600));
  }

  append(chunks: readonly Buffer[]): Promise<void> {
    const at = this.size;
    this.size += chunks.reduce((sum, c) => sum + c.length, 0);
    return writeFully(this.handle, chunks, at);
  }

  /**
   * Spools `incoming` until it ends (resolves false, everything written) or until `stop()` says
   * so before the next chunk is read (resolves true at once; the rest is still unread, and the
   * last batch may still be on its way: `flush` before reading back).
   */
  async fill(incoming: Incoming, stop: () => boolean): Promise<boolean> {
    try {
      for (;;) {
        if (stop()) return true;
        const chunk = await incoming.next();
        if (chunk === undefined) {
          await this.out.flush();
          return false;
        }
        await this.out.push(chunk);
      }
    } catch (error) {
      await this.out.settle();
      throw error;
    }
  }

  flush(): Promise<void> {
    return this.out.flush();
  }

  /** What was spooled, read back in large chunks. */
  chunks(): AsyncGenerator<Buffer> {
    return readChunks(this.handle, 0, this.size);
  }

  /** Closes and unlinks the file; safe to call more than once. */
  async remove(): Promise<void> {
    await this.out.settle();
    this.closed ??= this.handle.close();
    await this.closed.catch(() => undefined);
    await removeSpool(this.path);
  }
}
