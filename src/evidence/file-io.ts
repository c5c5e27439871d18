/**
 * Moving bytes between our files and streams in large chunks: positional writes that finish
 * what the kernel left short, read-back in 1 MiB pieces with the next read already under way,
 * and a batcher that turns a producer's small chunks into large writes, one write in flight.
 */
import type { FileHandle } from 'node:fs/promises';

/** Large enough that a gigabyte costs about a thousand writes; two of them are the memory bound. */
export const CHUNK_BYTES = 1024 * 1024;

/** Somewhere a Batcher can hand its chunks to, in order. */
export interface Appender {
  append(chunks: readonly Buffer[]): Promise<void>;
}

/** Writes all of `chunks` at `position` (one writev for most batches). */
export async function writeFully(handle: FileHandle, chunks: readonly Buffer[], position: number): Promise<void> {
  let pending = chunks.filter((c) => c.length > 0);
  let at = position;
  while (pending.length > 0) {
    const { bytesWritten } = await handle.writev(pending, at);
    if (bytesWritten <= 0) throw new Error(`short write at byte ${at}: the file system accepted nothing`);
    at += bytesWritten;
    pending = dropBytes(pending, bytesWritten);
  }
}

function dropBytes(chunks: Buffer[], count: number): Buffer[] {
  let left = count;
  let index = 0;
  while (index < chunks.length && left >= chunks[index]!.length) left -= chunks[index++]!.length;
  const rest = chunks.slice(index);
  if (rest.length > 0 && left > 0) rest[0] = rest[0]!.subarray(left);
  return rest;
}

/**
 * The bytes [from, to) of a file, in fresh chunks of up to CHUNK_BYTES (the consumer may keep
 * them). The next read is started before a chunk is handed out, so reading overlaps whatever
 * the consumer does with it (hashing, writing).
 */
export async function* readChunks(handle: FileHandle, from: number, to: number): AsyncGenerator<Buffer> {
  const readAt = (at: number): Promise<Buffer> | undefined => {
    if (at >= to) return undefined;
    const read = readFully(handle, Math.min(CHUNK_BYTES, to - at), at);
    read.catch(() => undefined); // awaited below; this only covers a consumer that stops early
    return read;
  };
  for (let at = from, next = readAt(from); next !== undefined;) {
    const chunk = await next;
    at += chunk.length;
    next = readAt(at);
    yield chunk;
  }
}

async function readFully(handle: FileHandle, length: number, position: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  for (let done = 0; done < length;) {
    const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
    if (bytesRead === 0)
      throw new Error(`the file ended at byte ${position + done}, before the ${position + length} bytes written to it`);
    done += bytesRead;
  }
  return buffer;
}

/**
 * Collects chunks into writes of about CHUNK_BYTES. While one write is in flight the next batch
 * fills; `push` waits when both are full, which is the producer's backpressure.
 */
export class Batcher {
  private batch: Buffer[] = [];
  private bytes = 0;
  private inflight: Promise<void> | undefined;

  constructor(private readonly target: Appender) {}

  async push(chunk: Buffer): Promise<void> {
    if (chunk.length === 0) return;
    this.batch.push(chunk);
    this.bytes += chunk.length;
    if (this.bytes >= CHUNK_BYTES) await this.ship();
  }

  /** Writes what is left and waits until all of it is written. */
  async flush(): Promise<void> {
    await this.ship();
    await this.settle(false);
  }

  /** Waits for the write in flight; `quietly` ignores its outcome (the caller is failing already). */
  async settle(quietly = true): Promise<void> {
    const inflight = this.inflight;
    this.inflight = undefined;
    if (quietly) await inflight?.catch(() => undefined);
    else await inflight;
  }

  private async ship(): Promise<void> {
    await this.settle(false);
    if (this.batch.length === 0) return;
    const batch = this.batch;
    this.batch = [];
    this.bytes = 0;
    const write = this.target.append(batch);
    write.catch(() => undefined); // observed by the next ship, flush or settle
    this.inflight = write;
  }
}
