/**
 * Reading a `.partial` bundle that a hard exit cut short. The tar in it holds complete entries,
 * then maybe one cut off (mid-header or mid-body); the gzip around it may end mid-member.
 *
 * Two passes. `scanPartial` reads the headers (and, gzipped, decompresses everything once) to
 * learn which entries are whole: only those are handed out as entries, so a cut-off entry is
 * never passed off as whole. `readPartialEntries` then streams the bodies of exactly those
 * entries, in order, and then, apart, the bytes the cut-off entry has (for the caller to keep
 * under another name, flagged incomplete).
 *
 * Our writer never puts a zero block between entries, so the first zero block ends the bundle's
 * own entries: what follows is either the end-of-archive blocks or, in an uncompressed bundle, a
 * direct entry's content behind its never-patched header (direct.ts). That content is often a
 * tar itself (a filesystem export), so nothing after a zero block is ever read as our entries.
 */
import { createReadStream } from 'node:fs';
import { constants, createGunzip } from 'node:zlib';
import { DEFAULT_CHUNK_SIZE } from './gzip.js';
import { BLOCK } from './ustar.js';
import { startsWithGzipMagic } from './reader.js';

export interface PartialEntry {
  /** As stored in the tar: `<bag>/<rel>`. */
  name: string;
  /** Tar type flag: '0' (or NUL) a file, '5' a folder. */
  type: string;
  dataOffset: number;
  size: number;
}

export interface CutEntry {
  /** Undefined for a direct entry, whose header was never written. */
  name?: string;
  /** The size its header declares, when there is a header. */
  size?: number;
  /** Bytes of its body the file holds. */
  present: number;
  /** Where those bytes start in the tar. */
  dataOffset?: number;
  reason: string;
  /** Where the recovered bundle keeps those bytes, when it does. */
  keptAs?: string;
}

export interface PartialScan {
  gzip: boolean;
  /** Whole entries, in tar order. */
  entries: PartialEntry[];
  /** Bytes of tar the file yields (after gunzip). */
  tarBytes: number;
  cutOff?: CutEntry;
  /** Set when the scan stopped at something other than the end of the data or a cut entry. */
  stopped?: string;
}

/** The tar bytes of the file: gunzipped (tolerating a cut mid-member) when it starts with the gzip magic. */
async function* tarStream(path: string, gzip: boolean): AsyncGenerator<Buffer> {
  const file = createReadStream(path);
  const gunzip = gzip ? createGunzip({ finishFlush: constants.Z_SYNC_FLUSH }) : undefined;
  try {
    yield* (gunzip ? file.pipe(gunzip) : file) as AsyncIterable<Buffer>;
  } finally {
    file.destroy();
    gunzip?.destroy();
  }
}

/** Sequential reads of exact lengths over a stream of chunks. */
class Cursor {
  offset = 0;
  private pending: Buffer = Buffer.alloc(0);
  private ended = false;

  constructor(private readonly chunks: AsyncIterator<Buffer>) {}

  /** Up to `n` bytes; fewer only at the end of the data. */
  async take(n: number): Promise<Buffer> {
    while (this.pending.length < n && (await this.fill()));
    const out = this.pending.subarray(0, n);
    this.pending = this.pending.subarray(out.length);
    this.offset += out.length;
    return out;
  }

  /** The next `n` bytes as they arrive (fewer only at the end of the data). */
  async *stream(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.pending.length === 0 && !(await this.fill())) return;
      const out = this.pending.subarray(0, Math.min(left, this.pending.length));
      this.pending = this.pending.subarray(out.length);
      this.offset += out.length;
      left -= out.length;
      yield out;
    }
  }

  /** Skips up to `n` bytes; returns how many there were. */
  async skip(n: number): Promise<number> {
    let skipped = 0;
    for await (const chunk of this.stream(n)) skipped += chunk.length;
    return skipped;
  }

  private async fill(): Promise<boolean> {
    if (this.ended) return false;
    const next = await this.chunks.next();
    if (next.done) {
      this.ended = true;
      return false;
    }
    this.pending = this.pending.length === 0 ? next.value : Buffer.concat([this.pending, next.value]);
    return true;
  }
}

interface Header {
  name: string;
  size: number;
  type: string;
}

/** A ustar header block, or undefined when its checksum says it is not one. */
function parseHeader(block: Buffer): Header | undefined {
  const stored = Number.parseInt(block.toString('latin1', 148, 156).replace(/[\0 ]/g, ''), 8);
  let sum = 8 * 0x20;
  for (let i = 0; i < BLOCK; i++) if (i < 148 || i >= 156) sum += block[i]!;
  if (stored !== sum) return undefined;
  const text = (from: number, length: number) => block.toString('utf8', from, from + length).replace(/\0.*$/s, '');
  const name = text(0, 100);
  const prefix = block.toString('latin1', 257, 263).startsWith('ustar') ? text(345, 155) : '';
  return { name: prefix ? `${prefix}/${name}` : name, size: readSize(block), type: String.fromCharCode(block[156]!) };
}

/** Octal, or GNU base-256 for 8 GiB and more (as ustar.ts writes it). */
function readSize(block: Buffer): number {
  if (block[124]! & 0x80) {
    let size = 0;
    for (let i = 125; i < 136; i++) size = size * 256 + block[i]!;
    return size;
  }
  return Number.parseInt(block.toString('latin1', 124, 136).replace(/[\0 ]/g, '') || '0', 8);
}

/** `<length> <key>=<value>\n` records. */
function parsePax(body: Buffer): Record<string, string> {
  const records: Record<string, string> = {};
  for (const line of body.toString('utf8').split('\n')) {
    const match = /^\d+ ([^=]+)=(.*)$/s.exec(line);
    if (match) records[match[1]!] = match[2]!;
  }
  return records;
}

const isZero = (block: Buffer) => block.every((byte) => byte === 0);
const padded = (size: number) => Math.ceil(size / BLOCK) * BLOCK;
// Extended headers are small; anything larger is not one of ours.
const MAX_EXTENDED_HEADER = 1024 * 1024;

/** Which entries of the partial file are whole, and how it ends. */
export async function scanPartial(path: string): Promise<PartialScan> {
  const gzip = await startsWithGzipMagic(path);
  const cursor = new Cursor(tarStream(path, gzip)[Symbol.asyncIterator]());
  const scan: PartialScan = { gzip, entries: [], tarBytes: 0 };
  try {
    await readHeaders(cursor, scan);
  } catch (error) {
    if (!gzip) throw error;
    // Not a truncation: the gzip data itself is damaged. What its damaged member gave may be wrong;
    // members hold DEFAULT_CHUNK_SIZE bytes of tar each, so entries before that member are kept.
    const trusted = Math.floor(Math.max(cursor.offset - 1, 0) / DEFAULT_CHUNK_SIZE) * DEFAULT_CHUNK_SIZE;
    const dropped = scan.entries.filter((e) => e.dataOffset + e.size > trusted);
    scan.entries = scan.entries.filter((e) => e.dataOffset + e.size <= trusted);
    const last = dropped[0] ?? scan.cutOff;
    scan.cutOff = {
      name: last?.name,
      size: last?.size,
      present: 0,
      reason: `the gzip data is damaged near tar byte ${cursor.offset}`,
    };
    scan.stopped = `gzip: ${(error as Error).message}`;
  }
  scan.tarBytes = Math.max(scan.tarBytes, cursor.offset);
  return scan;
}

async function readHeaders(cursor: Cursor, scan: PartialScan): Promise<void> {
  let extended: Record<string, string> = {};
  for (;;) {
    const at = cursor.offset;
    const block = await cursor.take(BLOCK);
    if (block.length === 0) return;
    if (block.length < BLOCK) {
      scan.stopped = `the file ends inside a tar header at tar byte ${at}`;
      return;
    }
    if (isZero(block)) return endAtZeroBlock(cursor, scan, at);
    const header = parseHeader(block);
    if (!header) {
      scan.stopped = `tar byte ${at} is not a tar header (damaged, or not a firebreak bundle)`;
      return;
    }
    const name = extended.path ?? header.name;
    const size = extended.size !== undefined ? Number(extended.size) : header.size;
    if (['x', 'g', 'L'].includes(header.type)) {
      if (size > MAX_EXTENDED_HEADER) {
        scan.stopped = `tar byte ${at}: an extended header of ${size} bytes is not one of ours`;
        return;
      }
      const body = await cursor.take(size);
      if (body.length < size) {
        scan.cutOff = { present: 0, reason: 'the file ends inside the extended header of the next entry' };
        return;
      }
      await cursor.skip(padded(size) - size);
      if (header.type === 'x') extended = parsePax(body);
      if (header.type === 'L') extended = { path: body.toString('utf8').replace(/\0.*$/s, '') };
      continue;
    }
    extended = {};
    const dataOffset = cursor.offset;
    const present = await cursor.skip(size);
    if (present < size) {
      scan.cutOff = { name, size, present, dataOffset, reason: `the file ends after ${present} of its ${size} bytes` };
      return;
    }
    await cursor.skip(padded(size) - size);
    scan.entries.push({ name, type: header.type, dataOffset, size });
  }
}

/**
 * End-of-archive blocks, or (when data follows) a direct entry whose header was never written: its
 * zeroed placeholder is one block, or a few with a pax record, and its content (a tar or a log,
 * never a whole zero block at its start) runs to the end of the file.
 */
async function endAtZeroBlock(cursor: Cursor, scan: PartialScan, at: number): Promise<void> {
  for (;;) {
    const start = cursor.offset;
    const block = await cursor.take(BLOCK);
    if (block.length === 0 || (block.length === BLOCK && isZero(block))) {
      if (block.length === 0) return;
      continue;
    }
    const present = block.length + (await cursor.skip(Number.MAX_SAFE_INTEGER));
    if (block.length < BLOCK && isZero(block) && present === block.length) return;
    scan.cutOff = {
      present,
      dataOffset: start,
      reason: `a large stream written straight into the tar at tar byte ${at}, whose header was never written; its name and length are unknown`,
    };
    return;
  }
}

/** The whole entries of a scanned partial, in order; `visit` must read each body to its end (or not at all). */
export async function readPartialEntries(
  path: string,
  scan: PartialScan,
  visit: (entry: PartialEntry, body: AsyncIterable<Buffer>) => Promise<void>,
  visitCut?: (cut: CutEntry, body: AsyncIterable<Buffer>) => Promise<void>,
): Promise<void> {
  const cursor = new Cursor(tarStream(path, scan.gzip)[Symbol.asyncIterator]());
  for (const entry of scan.entries) {
    await cursor.skip(entry.dataOffset - cursor.offset);
    if (cursor.offset !== entry.dataOffset)
      throw new Error(`${path} changed since it was scanned: it ends before ${entry.name}`);
    const start = cursor.offset;
    await visit(entry, cursor.stream(entry.size));
    // A visitor that left the body unread: skip what it left.
    await cursor.skip(start + entry.size - cursor.offset);
  }
  const cut = scan.cutOff;
  if (!visitCut || cut?.dataOffset === undefined || cut.present === 0) return;
  await cursor.skip(cut.dataOffset - cursor.offset);
  if (cursor.offset !== cut.dataOffset)
    throw new Error(`${path} changed since it was scanned: it ends before the cut-off entry`);
  await visitCut(cut, cursor.stream(cut.present));
}
