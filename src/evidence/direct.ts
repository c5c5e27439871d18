/**
 * A direct entry: in an uncompressed bundle, a large stream of unknown length is written straight
 * into the tar instead of going through a spool file first, so its bytes are written once.
 *
 * A tar header must carry the size, which is known only at the end, so the entry starts with a
 * zeroed placeholder of the header's length (which does not depend on the size, see ustar.ts),
 * the content follows in large sequential writes, then the padding, and the real header is
 * written over the placeholder last, with a positional write. Until then the placeholder reads
 * as the end-of-archive marker, so a `.partial` left by a crash still lists every entry before it.
 *
 * The caller holds the bundle's queue and has let every byte tar-stream emitted reach the file
 * first (BundleWriter.flushed): nothing else writes to the file meanwhile.
 */
import { Batcher } from './file-io.js';
import type { Incoming, SpoolFile } from './incoming.js';
import type { BundleFile } from './output.js';
import { fileHeader, padding, type FileHeader } from './ustar.js';

/**
 * A stream of unknown length goes direct (compression none) only once it has given this much
 * and the queue is idle at that moment. Below it a stream is spooled as before: small logs never
 * hold the queue, and a bundle without a direct entry keeps its one-pass sidecar hash. The
 * spooled part is written twice, under 7% of a 1 GiB export. (test/engine/interrupt.test.ts also
 * relies on a large export being seen as a spool file of 32 MiB before it goes direct.)
 */
export const DIRECT_AFTER_BYTES = 64 * 1024 * 1024;

export interface DirectResult {
  size: number;
  sha256: string;
  /** The producer's error: the entry holds exactly the bytes that arrived before it. */
  problem?: unknown;
}

/**
 * Writes one entry: what `spool` holds (already hashed by `incoming`), then the rest of
 * `incoming`, hashed on the way. Rejects only when the bundle file itself fails, after which the
 * bundle cannot be finished; a producer error is returned as `problem` with the entry complete.
 */
export async function writeDirectEntry(
  file: BundleFile,
  header: Omit<FileHeader, 'size'>,
  spool: SpoolFile,
  incoming: Incoming,
): Promise<DirectResult> {
  await spool.flush();
  const at = await file.appendPlaceholder(fileHeader({ ...header, size: 0 }).length);
  const out = new Batcher(file);
  // The spooled part is not hashed again: `incoming` hashed these bytes on their way into the
  // spool, and a read-back that differed from what was written could only come from an I/O
  // error, which fails the copy. The spool goes as soon as it is copied: the rest of a long
  // stream should not keep it on disk.
  for await (const chunk of spool.chunks()) await out.push(chunk);
  await spool.remove();
  let problem: unknown;
  for (;;) {
    let chunk: Buffer | undefined;
    try {
      chunk = await incoming.next();
    } catch (error) {
      problem = error;
      break;
    }
    if (chunk === undefined) break;
    await out.push(chunk);
  }
  await out.flush();
  await file.append([padding(incoming.size)]);
  await file.patch(fileHeader({ ...header, size: incoming.size }), at);
  return { size: incoming.size, sha256: incoming.sha256(), problem };
}
