/**
 * Parallel gzip: the input is cut into chunks, each chunk becomes an independent gzip member,
 * compressed on worker threads, and the members go out strictly in input order. RFC 1952 allows
 * a file of several members; gunzip, `tar -xzf` and zlib.gunzip read it as one stream.
 *
 * - Small inputs never start a worker: until the pool is up, chunks are compressed by plain zlib
 *   on libuv's thread pool (no start-up cost, one chunk per core at a time), and the pool (about
 *   25 ms to start) is only started when a full chunk finds that share busy. A bundle of a few
 *   KB, or of a few chunks, costs what plain zlib costs.
 * - At most `maxInFlight` chunks are being compressed or waiting for their turn to be emitted;
 *   the write callback is held while the next chunk cannot be dispatched, so memory stays bounded
 *   whatever the input size, and a slow reader slows the writer through the Transform as usual.
 * - Workers are referenced only while they have work, terminated on finish and on destroy.
 */
import { availableParallelism } from 'node:os';
import { Transform, type TransformCallback } from 'node:stream';
import { Worker } from 'node:worker_threads';
import * as zlib from 'node:zlib';
import { GZIP_WORKER_SOURCE } from './gzip-worker.js';

export interface GzipStreamOptions {
  /** zlib level, 0-9; default 1. */
  level?: number;
  /** Input bytes per gzip member; default 1 MiB. */
  chunkSize?: number;
  /** Worker threads; default os.availableParallelism(). 0 compresses on libuv's pool only. */
  workers?: number;
  /**
   * Input that waits this long for more is compressed as a member of its own (default 200 ms;
   * 0: never). A run killed hard then leaves its small early artifacts (inspect, processes) in the
   * file for `bundle recover`, instead of in a buffer that dies with the process.
   */
  idleFlushMs?: number;
}

export const DEFAULT_CHUNK_SIZE = 1 << 20;
/** The workers need zlib.crc32 (Node 20.15); older Node compresses on libuv's pool only. */
const WORKERS_POSSIBLE = typeof zlib.crc32 === 'function';
/** Within a chunk, the unit that is either deflated or stored (see gzip-worker.ts). */
const PIECE_SIZE = 256 << 10;

export function createGzipStream(options: GzipStreamOptions = {}): Transform {
  return new ParallelGzip(options);
}

interface Slot {
  worker: Worker;
  online: boolean;
  load: number;
}

interface WorkerReply {
  id: number;
  buf?: ArrayBuffer;
  offset?: number;
  length?: number;
  error?: string;
  input?: ArrayBuffer;
}

class ParallelGzip extends Transform {
  readonly #level: number;
  readonly #chunkSize: number;
  readonly #poolSize: number;
  readonly #maxInFlight: number;

  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #nextId = 0;
  #nextOut = 0;
  readonly #done = new Map<number, Buffer>();
  /** Chunks dispatched and not yet pushed. */
  #inFlight = 0;
  /** Chunks being compressed on libuv's pool, while no worker is up yet. */
  #onLibuv = 0;
  #heldWrite: TransformCallback | undefined;
  #heldFlush: TransformCallback | undefined;
  #slots: Slot[] | undefined;
  /** Chunk buffers the workers have given back, for reuse. */
  #free: ArrayBuffer[] = [];
  #closed = false;
  readonly #idleFlushMs: number;
  #idleTimer: NodeJS.Timeout | undefined;

  constructor(options: GzipStreamOptions) {
    super();
    const level = options.level ?? 1;
    const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    const workers = options.workers ?? availableParallelism();
    if (!Number.isInteger(level) || level < 0 || level > 9)
      throw new RangeError(`gzip level must be an integer 0-9, not ${level}`);
    if (!Number.isInteger(chunkSize) || chunkSize < 1024 || chunkSize > 64 << 20) {
      throw new RangeError(`gzip chunk size must be an integer from 1 KiB to 64 MiB, not ${chunkSize}`);
    }
    if (!Number.isInteger(workers) || workers < 0 || workers > 64)
      throw new RangeError(`gzip workers must be an integer 0-64, not ${workers}`);
    this.#level = level;
    this.#chunkSize = chunkSize;
    this.#poolSize = WORKERS_POSSIBLE ? workers : 0;
    // Enough to keep every worker busy while finished members wait for an earlier, slower one.
    this.#maxInFlight = Math.max(4, 2 * workers + 2);
    this.#idleFlushMs = options.idleFlushMs ?? 200;
  }

  override _transform(data: Buffer | string, encoding: BufferEncoding, callback: TransformCallback): void {
    const buf = typeof data === 'string' ? Buffer.from(data, encoding) : data;
    if (buf.length > 0) {
      this.#pending.push(buf);
      this.#pendingBytes += buf.length;
    }
    this.#heldWrite = callback;
    this.#pump();
    this.#armIdleFlush();
  }

  /** Compresses what waits once no more input has come for idleFlushMs. */
  #armIdleFlush(): void {
    clearTimeout(this.#idleTimer);
    if (this.#idleFlushMs <= 0 || this.#pendingBytes === 0) return;
    this.#idleTimer = setTimeout(() => {
      if (this.#closed || this.#heldFlush || this.#pendingBytes === 0) return;
      if (this.#inFlight >= this.#maxInFlight || !this.#canDispatch()) return this.#armIdleFlush();
      this.#dispatch(this.#take(this.#pendingBytes));
    }, this.#idleFlushMs);
    this.#idleTimer.unref();
  }

  override _flush(callback: TransformCallback): void {
    clearTimeout(this.#idleTimer);
    this.#heldFlush = callback;
    this.#pump();
  }

  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    this.#closed = true;
    clearTimeout(this.#idleTimer);
    this.#stopPool();
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#free = [];
    this.#done.clear();
    const held = [this.#heldWrite, this.#heldFlush];
    this.#heldWrite = this.#heldFlush = undefined;
    const reason = error ?? Object.assign(new Error('gzip stream destroyed'), { code: 'ERR_STREAM_DESTROYED' });
    for (const cb of held) cb?.(reason);
    callback(error);
  }

  /** Dispatches what can be dispatched, then releases a held write or flush when it may go on. */
  #pump(): void {
    if (this.#closed) return;
    while (this.#inFlight < this.#maxInFlight) {
      const full = this.#pendingBytes >= this.#chunkSize;
      if (!full && !(this.#heldFlush && (this.#pendingBytes > 0 || this.#nextId === 0))) break;
      if (!this.#canDispatch()) {
        // More input than libuv's share can take at once: the input is not small, start the pool.
        if (full && this.#poolSize > 0 && !this.#slots) this.#startPool();
        break;
      }
      this.#dispatch(this.#take(full ? this.#chunkSize : this.#pendingBytes));
    }
    if (this.#heldWrite && this.#pendingBytes < this.#chunkSize) {
      const cb = this.#heldWrite;
      this.#heldWrite = undefined;
      cb();
    }
    if (this.#heldFlush && this.#pendingBytes === 0 && this.#nextId > 0 && this.#inFlight === 0) {
      const cb = this.#heldFlush;
      this.#heldFlush = undefined;
      this.#free = [];
      this.#stopPool();
      cb();
    }
  }

  /**
   * Until a worker is up, at most one chunk per core goes to libuv's pool; more would only queue
   * there behind plain zlib, which is ten times slower than the workers on incompressible data.
   */
  #canDispatch(): boolean {
    if (this.#poolSize === 0) return true;
    return this.#onLibuv < this.#poolSize || this.#slots?.some((s) => s.online) === true;
  }

  /** The first `n` pending bytes, in a buffer of its own (transferable to a worker). */
  #take(n: number): Buffer {
    const reused = n === this.#chunkSize ? this.#free.pop() : undefined;
    const out = reused ? Buffer.from(reused) : Buffer.allocUnsafeSlow(n);
    let at = 0;
    while (at < n) {
      const head = this.#pending[0]!;
      const want = n - at;
      if (head.length <= want) {
        out.set(head, at);
        at += head.length;
        this.#pending.shift();
      } else {
        out.set(head.subarray(0, want), at);
        this.#pending[0] = head.subarray(want);
        at += want;
      }
    }
    this.#pendingBytes -= n;
    return out;
  }

  #dispatch(chunk: Buffer): void {
    const id = this.#nextId++;
    this.#inFlight++;
    const slot = this.#slots
      ?.filter((s) => s.online)
      .reduce<Slot | undefined>((a, b) => (a && a.load <= b.load ? a : b), undefined);
    if (slot) {
      if (slot.load++ === 0) slot.worker.ref();
      const buf = chunk.buffer as ArrayBuffer;
      slot.worker.postMessage({ id, buf, length: chunk.length, level: this.#level, piece: PIECE_SIZE }, [buf]);
      return;
    }
    this.#onLibuv++;
    // One output buffer large enough for the whole member saves round trips to this thread.
    const chunkSize = Math.max(16 << 10, chunk.length + (chunk.length >> 3) + 1024);
    zlib.gzip(chunk, { level: this.#level, chunkSize }, (error, out) => {
      this.#onLibuv--;
      if (error) this.#fail(error);
      else this.#complete(id, out);
    });
  }

  #complete(id: number, member: Buffer): void {
    if (this.#closed) return;
    this.#done.set(id, member);
    for (let next = this.#done.get(this.#nextOut); next; next = this.#done.get(this.#nextOut)) {
      this.#done.delete(this.#nextOut++);
      this.#inFlight--;
      this.push(next);
      // A 'data' listener may have destroyed the stream.
      if (this.#closed) return;
    }
    this.#pump();
  }

  #fail(error: Error): void {
    if (!this.#closed) this.destroy(error);
  }

  #startPool(): void {
    this.#slots = [];
    for (let i = 0; i < this.#poolSize; i++) {
      // execArgv: [] keeps loaders and flags of the parent (tsx, test runners) out of the worker.
      const worker = new Worker(GZIP_WORKER_SOURCE, { eval: true, execArgv: [] });
      const slot: Slot = { worker, online: false, load: 0 };
      worker.on('online', () => {
        slot.online = true;
        this.#pump();
      });
      worker.on('message', (reply: WorkerReply) => {
        if (--slot.load === 0) worker.unref();
        if (reply.input?.byteLength === this.#chunkSize && this.#free.length < this.#maxInFlight)
          this.#free.push(reply.input);
        if (reply.error !== undefined || !reply.buf)
          this.#fail(new Error(`gzip worker: ${reply.error ?? 'no output'}`));
        else this.#complete(reply.id, Buffer.from(reply.buf, reply.offset ?? 0, reply.length));
      });
      worker.on('error', (error: Error) => this.#fail(error));
      worker.on('exit', (code) => {
        if (this.#slots?.includes(slot)) this.#fail(new Error(`gzip worker exited unexpectedly (code ${code})`));
      });
      // Only referenced while it has work. After the listeners: a 'message' listener refs again.
      worker.unref();
      this.#slots.push(slot);
    }
  }

  #stopPool(): void {
    const slots = this.#slots ?? [];
    this.#slots = undefined;
    for (const { worker } of slots) {
      worker.unref();
      void worker.terminate().catch(() => undefined);
    }
  }
}
