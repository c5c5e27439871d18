/**
 * Whether a tar stream ended where a tar ends. An exported filesystem or an archive that stops
 * part way looks like a smaller tar to anything that only counts bytes; what a whole one has and a
 * cut one lacks is the end of the archive: two zeroed 512-byte blocks where the next header would
 * be (POSIX ustar; Go's archive/tar, which the engine uses, writes exactly that and no more).
 *
 * This walks the headers as the bytes pass, without keeping them: each header says how many
 * bytes of content follow (a PAX record can say it instead, for files over 8 GiB), so the next
 * header's place is known. A cut anywhere (inside content, inside a header, at an entry boundary)
 * ends the stream somewhere other than after the end blocks. Zeros inside a file's content are
 * content, never taken for the end.
 */

const BLOCK = 512;
/** Entry types that carry no content whatever their size field says (as Go's archive/tar reads them). */
const headerOnly = new Set(['1', '2', '3', '4', '5', '6']);
/** PAX extended headers are small; one larger than this is not read for a size. */
const paxLimit = 1024 * 1024;

export class TarEnd {
  private offset = 0;
  /** Bytes of content (with padding) still to pass before the next header. */
  private skip = 0;
  private block = Buffer.alloc(BLOCK);
  private blockFill = 0;
  private zeroBlocks = 0;
  private ended = false;
  private malformed: string | undefined;
  /** A PAX header's content being collected, and the size it sets for the next entry. */
  private pax: { left: number; chunks: Buffer[] } | undefined;
  private nextSize: number | undefined;

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && !this.ended && !this.malformed) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - at);
        if (this.pax && this.pax.left > 0) {
          const take = Math.min(n, this.pax.left);
          this.pax.chunks.push(chunk.subarray(at, at + take));
          this.pax.left -= take;
        }
        this.skip -= n;
        this.offset += n;
        at += n;
        if (this.skip === 0 && this.pax) this.readPax();
        continue;
      }
      const n = Math.min(BLOCK - this.blockFill, chunk.length - at);
      chunk.copy(this.block, this.blockFill, at, at + n);
      this.blockFill += n;
      this.offset += n;
      at += n;
      if (this.blockFill === BLOCK) {
        this.blockFill = 0;
        this.header(this.block);
      }
    }
    // After the end blocks only padding may follow (some writers fill a 10 KiB record); it is not read.
  }

  /** Undefined when the stream ended as a tar ends; else what was wrong. */
  problem(): string | undefined {
    if (this.malformed) return this.malformed;
    if (this.ended) return undefined;
    return `the tar has no end-of-archive blocks (it stops ${this.skip > 0 || this.blockFill > 0 ? 'inside an entry' : 'after a whole entry'})`;
  }

  private header(block: Buffer): void {
    if (block.every((b) => b === 0)) {
      if (++this.zeroBlocks === 2) this.ended = true;
      return;
    }
    if (this.zeroBlocks > 0) {
      this.malformed = `the tar has an entry after an empty block at byte ${this.offset - BLOCK}`;
      return;
    }
    if (!checksumMatches(block)) {
      this.malformed = `the tar has a header with a wrong checksum at byte ${this.offset - BLOCK}`;
      return;
    }
    const type = String.fromCharCode(block[156]!);
    const size = this.nextSize ?? sizeField(block.subarray(124, 136));
    this.nextSize = undefined;
    if (size === undefined) {
      this.malformed = `the tar has a header with an unreadable size at byte ${this.offset - BLOCK}`;
      return;
    }
    const content = headerOnly.has(type) ? 0 : size;
    this.skip = Math.ceil(content / BLOCK) * BLOCK;
    // A PAX header for the next entry ('x') may carry its size; a global one ('g') sizes nothing.
    if (type === 'x' && content <= paxLimit) this.pax = { left: content, chunks: [] };
    if (this.skip === 0 && this.pax) this.readPax();
  }

  private readPax(): void {
    const text = Buffer.concat(this.pax!.chunks).toString('utf8');
    this.pax = undefined;
    // Records are "<length> <key>=<value>\n".
    const size = /(?:^|\n)\d+ size=(\d+)\n/.exec(text)?.[1];
    if (size !== undefined) this.nextSize = Number(size);
  }
}

/** The header checksum: the sum of its bytes with the checksum field (148..155) counted as spaces. */
function checksumMatches(block: Buffer): boolean {
  const stored = octal(block.subarray(148, 156));
  if (stored === undefined) return false;
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return sum === stored;
}

/** The 12-byte size field: octal digits, or base-256 (high bit set) for sizes octal cannot hold. */
function sizeField(field: Buffer): number | undefined {
  if (field[0]! & 0x80) {
    let value = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i]!;
    return Number.isSafeInteger(value) ? value : undefined;
  }
  return octal(field);
}

function octal(field: Buffer): number | undefined {
  const text = field
    .toString('latin1')
    .replace(/[\0 ]+$/, '')
    .replace(/^ +/, '');
  if (text === '') return 0;
  return /^[0-7]+$/.test(text) ? parseInt(text, 8) : undefined;
}
