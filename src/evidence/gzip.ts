import { createGzip } from 'node:zlib';
import type { Transform } from 'node:stream';

/** Placeholder: single-threaded gzip. To be replaced by a parallel multi-member gzip. */
export function createGzipStream(): Transform {
  return createGzip({ level: 1 });
}
