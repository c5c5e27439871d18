import { randomBytes } from 'node:crypto';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { TarEnd } from '../../src/docker/tar-end.js';

/** A tar as tar-stream writes it (ustar, two zero blocks at the end, then padding to 10 KiB as GNU tar does). */
async function tarOf(
  entries: Array<{
    name: string;
    body?: Buffer;
    type?: 'file' | 'directory' | 'symlink';
    pax?: Record<string, string>;
  }>,
): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    const header = {
      name: e.name,
      type: e.type ?? 'file',
      ...(e.type === 'symlink' ? { linkname: '/bin/busybox' } : {}),
      ...(e.pax ? { pax: e.pax } : {}),
    };
    if (header.type === 'file') pack.entry(header, e.body ?? Buffer.alloc(0));
    else pack.entry(header);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function judge(bytes: Buffer, chunkSize = 4096): string | undefined {
  const end = new TarEnd();
  for (let at = 0; at < bytes.length; at += chunkSize) end.push(bytes.subarray(at, at + chunkSize));
  return end.problem();
}

/** The length of the tar without the zero padding after its end blocks. */
function withoutPadding(bytes: Buffer): number {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  // The last entry's content (or header) ends in a non-zero byte; round up to its block, then the two end blocks.
  return Math.ceil(end / 512) * 512 + 1024;
}

describe('TarEnd', () => {
  it('accepts a whole tar, in any chunking, padded or not', async () => {
    const whole = await tarOf([
      { name: 'etc/', type: 'directory' },
      { name: 'etc/passwd', body: Buffer.from('root:x:0:0::/root:/bin/sh\n') },
      { name: 'bin/sh', type: 'symlink' },
      { name: 'big', body: randomBytes(70_001) },
    ]);
    for (const size of [1, 511, 512, 513, 4096, whole.length])
      expect(judge(whole, size), `chunks of ${size}`).toBeUndefined();
    expect(judge(whole.subarray(0, withoutPadding(whole)))).toBeUndefined();
  });

  it('accepts an empty tar: only the end blocks', () => {
    expect(judge(Buffer.alloc(1024))).toBeUndefined();
  });

  it('refuses the tar cut at any block boundary and at bytes between', async () => {
    const whole = await tarOf([
      { name: 'a', body: randomBytes(5000) },
      { name: 'b', body: randomBytes(700) },
    ]);
    const end = withoutPadding(whole);
    for (let cut = 0; cut < end - 1024; cut += 512)
      expect(judge(whole.subarray(0, cut)), `cut at ${cut}`).toMatch(/no end-of-archive blocks/);
    for (const cut of [1, 100, 600, 5000, 6100])
      expect(judge(whole.subarray(0, cut)), `cut at ${cut}`).toMatch(/no end-of-archive blocks/);
    // One end block is not the end.
    expect(judge(whole.subarray(0, end - 512))).toMatch(/no end-of-archive blocks/);
  });

  it('never takes zeros inside a file for the end, however many', async () => {
    const zeros = await tarOf([
      { name: 'zeros', body: Buffer.alloc(64 * 1024) },
      { name: 'after', body: Buffer.from('x') },
    ]);
    // Cut in the middle of the zero content: two (and many more) zero blocks sit where content is.
    expect(judge(zeros.subarray(0, 512 + 32 * 1024))).toMatch(/inside an entry/);
    expect(judge(zeros.subarray(0, 512 + 64 * 1024))).toMatch(/after a whole entry/);
    expect(judge(zeros)).toBeUndefined();
  });

  it('reads a size from a PAX header (files over 8 GiB carry theirs there)', async () => {
    const whole = await tarOf([{ name: 'p', body: randomBytes(3000), pax: { comment: 'x'.repeat(600) } }]);
    expect(judge(whole)).toBeUndefined();
    // A PAX size that says more than the header: the content is read as that long.
    const pax = Buffer.from(paxRecord('size', '1536'));
    const forged = Buffer.concat([
      header('x', pax.length),
      pad(pax),
      header('0', 0),
      Buffer.alloc(1536),
      Buffer.alloc(1024),
    ]);
    expect(judge(forged)).toBeUndefined();
    expect(judge(forged.subarray(0, forged.length - 1024 - 512))).toMatch(/inside an entry/);
  });

  it('reads a base-256 size', () => {
    const h = header('0', 0);
    h.fill(0, 124, 136);
    h[124] = 0x80;
    h.writeUInt32BE(1024, 132);
    setChecksum(h);
    expect(judge(Buffer.concat([h, Buffer.alloc(1024), Buffer.alloc(1024)]))).toBeUndefined();
  });

  it('calls a header with a wrong checksum malformed', async () => {
    const whole = await tarOf([{ name: 'a', body: Buffer.from('hello') }]);
    whole[0] = 'b'.charCodeAt(0);
    expect(judge(whole)).toMatch(/wrong checksum at byte 0/);
  });
});

function header(type: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write('name', 0);
  h.write('0000644\0', 100);
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  h[156] = type.charCodeAt(0);
  h.write('ustar\0', 257);
  h.write('00', 263);
  setChecksum(h);
  return h;
}

function setChecksum(h: Buffer): void {
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = body.length + 1;
  while (`${length}${body}`.length !== length) length++;
  return `${length}${body}`;
}

function pad(b: Buffer): Buffer {
  return Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
}
