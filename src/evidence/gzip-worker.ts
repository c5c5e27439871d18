/**
 * The code that compresses one chunk into one gzip member, as CommonJS source text. A worker runs
 * it with `new Worker(GZIP_WORKER_SOURCE, { eval: true })`, which needs no file on disk: the same
 * code then works from `dist/` and when the tests run from the TypeScript sources.
 * `loadMemberBuilder` evaluates the same text in this thread, so tests can check the exact code
 * the workers run.
 *
 * A member is built from pieces of `piece` bytes. Each piece is either deflated at `level`, primed
 * with the 32 KiB before it so nothing is lost at the seams, and ended with a sync flush so it
 * ends on a byte boundary, or, when samples of it do not compress (media, archives, encrypted
 * data), written as stored blocks: that costs a CRC instead of a futile deflate, ten times faster.
 * An empty final stored block closes the deflate stream, then the CRC-32 and length follow.
 */
import { createRequire } from 'node:module';

export const GZIP_WORKER_SOURCE = String.raw`'use strict';
const zlib = require('node:zlib');
const SAMPLE = 4096;
const WINDOW = 32768;
const STORED_MAX = 65535;

// A piece counts as incompressible when a sample of it at its start, middle and end each shrink
// by less than 3%. Samples use a small window and hash so they cost little to set up.
function incompressible(piece) {
  if (piece.length < 4 * SAMPLE) return false;
  for (const at of [0, (piece.length >> 1) - (SAMPLE >> 1), piece.length - SAMPLE]) {
    const sample = piece.subarray(at, at + SAMPLE);
    const out = zlib.deflateRawSync(sample, { level: 1, windowBits: 12, memLevel: 4, chunkSize: 2 * SAMPLE });
    if (out.length < sample.length * 0.97) return false;
  }
  return true;
}

function buildMember(chunk, level, pieceSize) {
  const parts = [];
  let size = 10 + 5 + 8;
  for (let off = 0; off < chunk.length; off += pieceSize) {
    const piece = chunk.subarray(off, Math.min(off + pieceSize, chunk.length));
    if (level === 0 || incompressible(piece)) {
      for (let at = 0; at < piece.length; at += STORED_MAX) {
        const n = Math.min(STORED_MAX, piece.length - at);
        parts.push(n);
        parts.push(piece.subarray(at, at + n));
        size += 5 + n;
      }
    } else {
      const opts = { level, finishFlush: zlib.constants.Z_SYNC_FLUSH, chunkSize: piece.length + (piece.length >> 3) + 1024 };
      if (off > 0) opts.dictionary = chunk.subarray(Math.max(0, off - WINDOW), off);
      const out = zlib.deflateRawSync(piece, opts);
      parts.push(out);
      size += out.length;
    }
  }
  // A buffer of its own (never a slice of the shared pool), so its memory can be transferred.
  const out = Buffer.allocUnsafeSlow(size);
  out.set([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, level === 1 ? 4 : level === 9 ? 2 : 0, 3], 0);
  let at = 10;
  for (const part of parts) {
    if (typeof part === 'number') {
      // Stored block header: BFINAL=0, BTYPE=00, then LEN and its complement.
      out[at] = 0;
      out.writeUInt16LE(part, at + 1);
      out.writeUInt16LE(part ^ 0xffff, at + 3);
      at += 5;
    } else {
      out.set(part, at);
      at += part.length;
    }
  }
  out.set([1, 0, 0, 0xff, 0xff], at);
  out.writeUInt32LE(zlib.crc32(chunk), at + 5);
  out.writeUInt32LE(chunk.length >>> 0, at + 9);
  return out;
}

const threads = require('node:worker_threads');
if (!threads.isMainThread && threads.parentPort) {
  const port = threads.parentPort;
  port.on('message', (job) => {
    try {
      const out = buildMember(Buffer.from(job.buf, 0, job.length), job.level, job.piece);
      // The input goes back too, for the next chunk: fewer large allocations, less garbage.
      port.postMessage({ id: job.id, buf: out.buffer, offset: out.byteOffset, length: out.length, input: job.buf }, [out.buffer, job.buf]);
    } catch (error) {
      port.postMessage({ id: job.id, error: error instanceof Error ? error.stack || error.message : String(error) });
    }
  });
}
`;

export type MemberBuilder = (chunk: Buffer, level: number, pieceSize: number) => Buffer;

/** Evaluates the worker source in this thread and returns its `buildMember`. */
export function loadMemberBuilder(): MemberBuilder {
  return new Function('require', `${GZIP_WORKER_SOURCE}\nreturn buildMember;`)(
    createRequire(import.meta.url),
  ) as MemberBuilder;
}
