/**
 * Docker's multiplexed stream (logs, attach and exec of a container without a TTY): stdout and
 * stderr share one connection as frames, each an 8-byte header then the payload:
 *
 *   [stream, 0, 0, 0, size (uint32, big-endian)] [size bytes]
 *
 * stream is 0 stdin (echoed), 1 stdout, 2 stderr, 3 an error from the engine itself. A frame can
 * be split across chunks anywhere, the header included, and can be large: payloads are passed on
 * in slices as they arrive, never gathered whole.
 */
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface DemuxCounts {
  stdout: number;
  stderr: number;
}

/** The engine's own error frames are short messages; more than this is not one. */
const maxErrorFrame = 64 * 1024;

/**
 * Splits `source` into `stdout` and `stderr`, waiting on each destination's backpressure, and
 * ends both at the end. On failure both are destroyed with the error, so whoever reads them
 * (a spool into the bundle) fails too instead of keeping a silently shortened copy.
 */
export async function demultiplex(
  source: Readable | NodeJS.ReadableStream,
  stdout: Writable,
  stderr: Writable,
): Promise<DemuxCounts> {
  const parser = new FrameParser();
  const counts: DemuxCounts = { stdout: 0, stderr: 0 };
  try {
    await pipeline(source, async (chunks: AsyncIterable<Buffer | string>) => {
      for await (const chunk of chunks) {
        for (const { stream, payload } of parser.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)) {
          const destination = stream === 2 ? stderr : stdout;
          counts[stream === 2 ? 'stderr' : 'stdout'] += payload.length;
          await writeTo(destination, payload);
        }
      }
      parser.end();
    });
    await Promise.all([endOf(stdout), endOf(stderr)]);
    return counts;
  } catch (error) {
    abandon(stdout, error as Error);
    abandon(stderr, error as Error);
    throw error;
  }
}

/** Destroys a destination, with the cause where someone listens for it (an unheard 'error' would crash the process). */
function abandon(destination: Writable, error: Error): void {
  if (destination.listenerCount('error') > 0) destination.destroy(error);
  else destination.destroy();
}

interface Slice {
  stream: number;
  payload: Buffer;
}

/** The frame state machine, apart from any stream so it can be fed chunks of any size. */
export class FrameParser {
  private readonly header = Buffer.alloc(8);
  private headerFill = 0;
  private remaining = 0;
  private stream = 0;
  private error: Buffer[] = [];
  private offset = 0;

  /** The payload slices in `chunk`, in order; throws on bytes that are not a frame. */
  push(chunk: Buffer): Slice[] {
    const slices: Slice[] = [];
    for (let at = 0; at < chunk.length;) {
      if (this.remaining === 0) {
        const take = Math.min(8 - this.headerFill, chunk.length - at);
        chunk.copy(this.header, this.headerFill, at, at + take);
        this.headerFill += take;
        at += take;
        if (this.headerFill === 8) this.startFrame();
        continue;
      }
      const take = Math.min(this.remaining, chunk.length - at);
      const payload = chunk.subarray(at, at + take);
      this.remaining -= take;
      at += take;
      this.offset += take;
      if (this.stream === 3) this.error.push(payload);
      else slices.push({ stream: this.stream, payload });
      if (this.remaining === 0 && this.stream === 3) this.failWithEngineError();
    }
    return slices;
  }

  /** The stream ended: fine between frames, a truncation anywhere else. */
  end(): void {
    if (this.headerFill > 0 || this.remaining > 0) {
      throw new Error(
        `the multiplexed stream ended inside a frame at byte ${this.offset + this.headerFill}; the last frame is incomplete`,
      );
    }
  }

  private startFrame(): void {
    const [stream, a, b, c] = this.header;
    if (stream! > 3 || a !== 0 || b !== 0 || c !== 0) {
      throw new Error(
        `not a multiplexed stream at byte ${this.offset}: header ${this.header.toString('hex')} ` +
          '(a TTY container sends plain output; read it without demultiplexing)',
      );
    }
    this.stream = stream!;
    this.remaining = this.header.readUInt32BE(4);
    this.offset += 8;
    this.headerFill = 0;
    if (this.stream === 3 && this.remaining > maxErrorFrame)
      throw new Error(`an engine error frame of ${this.remaining} bytes is not plausible`);
    if (this.stream === 3 && this.remaining === 0) this.failWithEngineError();
  }

  private failWithEngineError(): never {
    throw new Error(
      `engine said: ${Buffer.concat(this.error).toString('utf8').trim() || 'an error (empty error frame)'}`,
    );
  }
}

/** One write that honours backpressure, and fails rather than hangs if the reader goes away. */
function writeTo(destination: Writable, payload: Buffer): Promise<void> {
  if (destination.destroyed) return Promise.reject(new Error('the destination of a demultiplexed stream closed early'));
  if (destination.write(payload)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      destination.off('drain', onDrain);
      destination.off('close', onClose);
      destination.off('error', onError);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new Error('the destination of a demultiplexed stream closed early'));
    const onError = (error: Error) => done(error);
    destination.once('drain', onDrain);
    destination.once('close', onClose);
    destination.once('error', onError);
  });
}

/** Ends a destination and waits until everything written has been taken by it. */
function endOf(destination: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    if (destination.writableFinished) {
      resolve();
      return;
    }
    destination.once('finish', resolve);
    destination.once('error', reject);
    // Closed before finishing: its reader gave up (and reports why); do not wait for ever.
    destination.once('close', () => {
      if (!destination.writableFinished)
        reject(new Error('the destination of a demultiplexed stream closed before the end'));
    });
    destination.end();
  });
}
