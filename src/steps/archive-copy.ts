/**
 * Re-packing archive-API tars into one tar. The engine answers GET /containers/{id}/archive with a
 * tar whose names are relative to the path's parent ("evil.sh" for /tmp/evil.sh); concatenated
 * tars are not a tar, so each entry is copied into one pack under its full path ("tmp/evil.sh"),
 * as `docker export` names them. Bodies stream through; none is held whole.
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar, { type Header, type Pack } from 'tar-stream';

// tar-stream's streams are streamx streams; Node's pipeline drives them (pipe, errors, close)
// though the typings do not say so, hence the casts to Node's stream types below.
type Headers = Omit<Header, 'pax'> & { pax?: Record<string, string> };

export interface CopyBudget {
  /** File bytes that may still be copied. */
  remaining: number;
}

export interface CopyResult {
  entries: number;
  bytes: number;
  /** The first entry that did not fit the budget; it and everything after it in this tar were left. */
  stoppedAt?: { name: string; size: number };
}

/**
 * Copies every entry of `source` into `pack` with `prefix` in front of its name, until an entry's
 * body would overrun `budget`; then stops reading (destroys `source`) rather than download bytes
 * only to drop them. Always leaves `source` read to the end or destroyed.
 */
export async function copyArchive(source: Readable, pack: Pack, prefix: string, budget: CopyBudget): Promise<CopyResult> {
  const extract = tar.extract();
  const feeding = pipeline(source, extract as unknown as NodeJS.WritableStream);
  feeding.catch(() => undefined); // awaited below, unless we stopped reading on purpose
  const result: CopyResult = { entries: 0, bytes: 0 };
  try {
    for await (const entry of extract) {
      const header = renamed(entry.header as Headers, prefix);
      const size = hasBody(header) ? (header.size ?? 0) : 0;
      if (size > budget.remaining) {
        result.stoppedAt = { name: header.name, size };
        break;
      }
      budget.remaining -= size;
      await copyEntry(entry as unknown as Readable, pack, header);
      result.entries++;
      result.bytes += size;
    }
  } finally {
    if (result.stoppedAt) source.destroy();
  }
  if (!result.stoppedAt) await feeding;
  return result;
}

function hasBody(header: Headers): boolean {
  return header.type === 'file' || header.type === 'contiguous-file';
}

/** The same entry under its full path; a hard link's target is a name in the same tar, so it moves too. */
function renamed(header: Headers, prefix: string): Headers {
  const copy: Headers = { ...header, name: `${prefix}${header.name}` };
  if (header.type === 'link' && header.linkname) copy.linkname = `${prefix}${header.linkname}`;
  if (header.pax) {
    // A long name travels in the pax record; the new one is written from `name`, so drop the old.
    const { path: _path, linkpath: _linkpath, ...rest } = header.pax;
    copy.pax = Object.keys(rest).length ? rest : undefined;
  }
  return copy;
}

/** One entry, body and all, into the pack, waiting on the pack's backpressure. */
async function copyEntry(body: Readable, pack: Pack, header: Headers): Promise<void> {
  let sink!: NodeJS.WritableStream;
  const written = new Promise<void>((resolve, reject) => {
    sink = pack.entry(header, (error) => (error ? reject(error) : resolve())) as unknown as NodeJS.WritableStream;
  });
  written.catch(() => undefined); // observed below; keeps an early failure from going unhandled
  await pipeline(body, sink);
  await written;
}
