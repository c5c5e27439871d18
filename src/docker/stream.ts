/**
 * Streamed answers (export, archive, logs) checked as they are read. docker-modem hands back the
 * raw HTTP response once its headers are in; everything after that was unchecked: an engine that
 * dies mid-answer surfaced as Node's bare "aborted", and an answer that merely stopped early read
 * as a whole one, so a short export would have been hashed and filed as the filesystem.
 *
 * Here a stream ends in one of four ways: whole; cut by a broken connection, with an
 * EngineUnreachableError that names the engine, the request and how far it got; short, when the
 * engine closed a tar answer properly before the tar's end (an engine whose handler gave up part
 * way still closes the chunked answer): an error that says so; or aborted by its signal (Ctrl-C, a
 * step's timeout), with the signal's reason. A tar answer is whole only when it ends with the
 * tar's end-of-archive blocks at an entry boundary (tar-end.ts).
 */
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { formatBytes } from '../bytes.js';
import { EngineUnreachableError } from '../errors.js';
import { TarEnd } from './tar-end.js';

export interface StreamLabel {
  /** "GET /containers/3f2a9c1b0d4e/export", for messages. */
  request: string;
  /** The engine's address, for messages. */
  endpoint: string;
  /** The call's signal: an abort is the caller's doing, never the engine's. */
  signal?: AbortSignal;
  /** The answer is a tar: whole only with its end-of-archive blocks. */
  tar?: boolean;
}

/** `answer` as a stream that fails, rather than ends, when the engine broke it off. Destroying it destroys the answer. */
export function checkedStream(answer: Readable, label: StreamLabel): Readable {
  const chunks = checkChunks(answer, label);
  return new Readable({
    // One chunk asked for at a time: the next read comes only after this push (backpressure).
    read() {
      chunks.next().then(
        (step) => this.push(step.done === true ? null : (step.value as Buffer)),
        (error: unknown) => this.destroy(error as Error),
      );
    },
    // Whoever stops reading (a full disk, a cap reached) stops the download at once, even while a
    // chunk is awaited; Readable.from would wait for that chunk before it let go of the answer.
    destroy(error, callback) {
      if ((answer as Partial<IncomingMessage>).complete !== true) answer.destroy();
      callback(error);
    },
  });
}

async function* checkChunks(answer: Readable, label: StreamLabel): AsyncGenerator<Buffer> {
  const tar = label.tar ? new TarEnd() : undefined;
  let bytes = 0;
  try {
    for await (const raw of answer) {
      const chunk = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : (raw as Buffer);
      bytes += chunk.length;
      tar?.push(chunk);
      yield chunk;
    }
  } catch (error) {
    if (label.signal?.aborted) throw label.signal.reason;
    throw cutOff(
      label,
      bytes,
      (error as NodeJS.ErrnoException)?.code ?? (error as Error)?.message ?? String(error),
      error,
    );
  }
  if (label.signal?.aborted) throw label.signal.reason;
  // Node reports an answer whose connection closed before the chunked terminator as an error
  // ('aborted'); `complete` is the same fact, read once more in case a transport only ends.
  if ((answer as Partial<IncomingMessage>).complete === false) throw cutOff(label, bytes, 'the answer ended early');
  const problem = tar?.problem();
  // The engine closed the answer itself: it is there, but what it sent is not the whole tar (a
  // container removed during the read, a layer that failed). A step failure (exit 1), not a lost engine.
  if (problem)
    throw new Error(
      `${label.request} at ${label.endpoint} ended after ${formatBytes(bytes)}, but ${problem}: the answer was cut short`,
    );
}

function cutOff(label: StreamLabel, bytes: number, why: string, cause?: unknown): EngineUnreachableError {
  return new EngineUnreachableError(
    `the Docker engine at ${label.endpoint} stopped answering during ${label.request}, after ${formatBytes(bytes)} (${why})`,
    { cause },
  );
}
