/**
 * Spooling: a stream whose length is unknown cannot go into the tar yet (a tar header carries
 * the size), and it must not hold the tar while it trickles in, so it goes to a temporary file
 * first. The hash and byte count are taken on the way, in the same pass.
 */
import { open, unlink } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { DigestStream } from './manifest.js';

export interface Spooled {
  path: string;
  size: number;
  sha256: string;
}

export type ByteSource = NodeJS.ReadableStream | AsyncIterable<Buffer | string> | Iterable<Buffer>;

/**
 * Copies `source` into a new file at `path` (mode 0600, refusing to reuse an existing file).
 * The caller removes the file, whatever the outcome, with `removeSpool`.
 */
export async function spoolStream(path: string, source: ByteSource): Promise<Spooled> {
  // Creating the file before streaming means it exists by the time anything can fail, so the
  // caller's cleanup never races a late open.
  const handle = await open(path, 'wx', 0o600);
  const digest = new DigestStream();
  await pipeline(source, digest, handle.createWriteStream());
  return { path, size: digest.bytes, sha256: digest.sha256() };
}

/** Removes a spool file; one that is already gone is fine. */
export async function removeSpool(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
