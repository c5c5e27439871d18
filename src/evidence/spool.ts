/**
 * Spool files: a stream whose length is unknown cannot go into the tar yet (a tar header carries
 * the size), so it starts in a temporary file beside the bundle (see incoming.ts). They are
 * removed in every outcome.
 */
import { unlink } from 'node:fs/promises';

export type ByteSource = NodeJS.ReadableStream | AsyncIterable<Buffer | string> | Iterable<Buffer>;

/** Removes a spool file; one that is already gone is fine. */
export async function removeSpool(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
