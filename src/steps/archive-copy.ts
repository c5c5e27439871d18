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

export type EntryType = 'file' | 'directory' | 'symlink' | 'link' | 'other';

export interface CopiedEntry {
  /** The full path inside the pack, as written there ("var/x/y", "var/x/" for a directory). */
  name: string;
  type: EntryType;
  /** Body bytes (0 for anything but a regular file). */
  size: number;
}

export interface LeftOutEntry {
  name: string;
  size: number;
  /** What was left of the budget when it came. */
  remaining: number;
  /** A hard link whose target was left out: extracting it would fail, so it stays out too. */
  linkTo?: string;
  /** Its name (or a hard link's target) would leave the folder files.tar is unpacked in. */
  unsafe?: string;
}

export interface CopyResult {
  copied: CopiedEntry[];
  /** Entries whose body did not fit the budget; they are not in the pack, the entries after them are. */
  leftOut: LeftOutEntry[];
  bytes: number;
}

/**
 * Copies every entry of `source` into `pack` with `prefix` in front of its name, except those
 * whose body would overrun `budget`: those are left out and the copy goes on with the next
 * entry, so one big file never costs the small ones after it. The engine sends a directory as
 * one tar, so a left-out body is read past (downloaded and dropped); one request per remaining
 * file instead would cost more in the common case of many small files.
 */
export async function copyArchive(
  source: Readable,
  pack: Pack,
  prefix: string,
  budget: CopyBudget,
): Promise<CopyResult> {
  const extract = tar.extract();
  const feeding = pipeline(source, extract as unknown as NodeJS.WritableStream);
  feeding.catch(() => undefined); // awaited below; a failure also ends the loop through the extract
  const result: CopyResult = { copied: [], leftOut: [], bytes: 0 };
  const leftNames = new Set<string>();
  for await (const entry of extract) {
    const header = renamed(entry.header as Headers, prefix);
    const size = hasBody(header) ? (header.size ?? 0) : 0;
    const unsafe = escapingName(entry.header as Headers);
    if (unsafe) {
      // Only an engine that is not what it says sends one; the name is kept in files.json, the body is not.
      (entry as unknown as Readable).resume();
      leftNames.add(header.name);
      result.leftOut.push({ name: header.name, size, remaining: budget.remaining, unsafe });
      continue;
    }
    const linkTo =
      header.type === 'link' && header.linkname && leftNames.has(header.linkname) ? header.linkname : undefined;
    if (size > budget.remaining || linkTo) {
      (entry as unknown as Readable).resume();
      leftNames.add(header.name);
      result.leftOut.push({ name: header.name, size, remaining: budget.remaining, ...(linkTo ? { linkTo } : {}) });
      continue;
    }
    budget.remaining -= size;
    await copyEntry(entry as unknown as Readable, pack, header);
    result.copied.push({ name: header.name, type: entryType(header), size });
    result.bytes += size;
  }
  await feeding;
  return result;
}

/**
 * The engine names archive entries relative to the path's parent, so a real engine never sends an
 * absolute name or a `..` segment; one that does (a compromised host answering as an engine)
 * would have files.tar write outside the folder a responder unpacks it in. A symlink's target is
 * the container's own data (an absolute or `../` target is evidence) and tar unpacks it as a
 * link, so only names and hard-link targets are checked.
 */
function escapingName(header: Headers): string | undefined {
  const bad = (name: string) => name.startsWith('/') || name.split('/').includes('..');
  if (bad(header.name)) return `its name ${JSON.stringify(header.name)} would leave the folder it is unpacked in`;
  if (header.type === 'link' && header.linkname && bad(header.linkname)) {
    return `a hard link to ${JSON.stringify(header.linkname)}, outside the folder it is unpacked in`;
  }
  return undefined;
}

function hasBody(header: Headers): boolean {
  return header.type === 'file' || header.type === 'contiguous-file';
}

function entryType(header: Headers): EntryType {
  if (hasBody(header)) return 'file';
  if (header.type === 'directory' || header.type === 'symlink' || header.type === 'link') return header.type;
  return 'other';
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
