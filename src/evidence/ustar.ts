/**
 * The header blocks of one regular-file tar entry, byte for byte what tar-stream's pack writes
 * for the same fields (tar-stream does not export its encoder). A direct entry (direct.ts) writes
 * its header itself, after its content, so it must look exactly like every other entry.
 *
 * Same rules as tar-stream: a long ASCII name is split into ustar's prefix and name fields; a
 * name that still does not fit, or is not ASCII, goes into a pax `path` record; a size of 8 GiB
 * or more (over 11 octal digits) is written in GNU base-256, which GNU tar, bsdtar and
 * tar-stream all read.
 */
export const BLOCK = 512;

export interface FileHeader {
  name: string;
  size: number;
  mode: number;
  mtime: Date;
}

const TYPE_FILE = '0';
const TYPE_PAX = 'x';
const ASCII = /^[\x00-\x7f]*$/;

/** The header (512 bytes, or 1536 and more with a pax record). Its length never depends on `size`. */
export function fileHeader(header: FileHeader): Buffer {
  if (!Number.isSafeInteger(header.size) || header.size < 0)
    throw new Error(`tar entry ${header.name}: bad size ${header.size}`);
  const plain = ustarBlock(header.name, header.size, header.mode, header.mtime, TYPE_FILE);
  if (plain) return plain;
  const record = paxRecord('path', header.name);
  return Buffer.concat([
    ustarBlock('PaxHeader', record.length, header.mode, header.mtime, TYPE_PAX)!,
    record,
    padding(record.length),
    ustarBlock('PaxHeader', header.size, header.mode, header.mtime, TYPE_FILE)!,
  ]);
}

/** The zeros that complete an entry of `size` bytes to a whole block. */
export function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** One ustar block, or undefined when the name cannot be stored in it. */
function ustarBlock(fullName: string, size: number, mode: number, mtime: Date, type: string): Buffer | undefined {
  if (!ASCII.test(fullName)) return undefined;
  let name = fullName;
  let prefix = '';
  while (name.length > 100) {
    const slash = name.indexOf('/');
    if (slash === -1) return undefined;
    prefix += prefix ? `/${name.slice(0, slash)}` : name.slice(0, slash);
    name = name.slice(slash + 1);
  }
  if (name.length > 100 || prefix.length > 155) return undefined;

  const block = Buffer.alloc(BLOCK);
  block.write(name, 0, 'latin1');
  block.write(octal(mode & 0o7777, 6), 100, 'latin1');
  block.write(octal(0, 6), 108, 'latin1'); // uid
  block.write(octal(0, 6), 116, 'latin1'); // gid
  writeSize(block, size);
  block.write(octal(Math.floor(mtime.getTime() / 1000), 11), 136, 'latin1');
  block.write(type, 156, 'latin1');
  block.write('ustar\u000000', 257, 'latin1');
  block.write(octal(0, 6), 329, 'latin1'); // devmajor
  block.write(octal(0, 6), 337, 'latin1'); // devminor
  if (prefix) block.write(prefix, 345, 'latin1');
  block.write(octal(checksum(block), 6), 148, 'latin1');
  return block;
}

/** Octal, zero-padded to `digits`, then a space (the terminator tar-stream writes). */
function octal(value: number, digits: number): string {
  const text = value.toString(8);
  return text.length > digits ? `${'7'.repeat(digits)} ` : `${text.padStart(digits, '0')} `;
}

/** The 12-byte size field: 11 octal digits while they suffice (< 8 GiB), else GNU base-256. */
function writeSize(block: Buffer, size: number): void {
  if (size.toString(8).length <= 11) {
    block.write(octal(size, 11), 124, 'latin1');
    return;
  }
  block[124] = 0x80;
  let rest = size;
  for (let i = 11; i > 0; i--) {
    block[124 + i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
}

/** Sum of all bytes, the checksum field itself counted as eight spaces. */
function checksum(block: Buffer): number {
  let sum = 8 * 0x20;
  for (let i = 0; i < BLOCK; i++) if (i < 148 || i >= 156) sum += block[i]!;
  return sum;
}

/** `<length> <key>=<value>\n`, where the length counts its own digits. */
function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  const length = Buffer.byteLength(body);
  let digits = String(length).length;
  if (length + digits >= 10 ** digits) digits++;
  return Buffer.from(`${length + digits}${body}`, 'utf8');
}
