/**
 * The SSH wire encoding (RFC 4251 section 5): big-endian uint32 and length-prefixed strings, the
 * building blocks of OpenSSH key files and of SSHSIG signatures.
 */

export class WireReader {
  private offset = 0;
  constructor(
    private readonly buffer: Buffer,
    /** Names the thing being read, for the error when it is cut short. */
    private readonly what: string,
  ) {}

  get done(): boolean {
    return this.offset >= this.buffer.length;
  }

  uint32(): number {
    this.need(4);
    const value = this.buffer.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  bytes(length: number): Buffer {
    this.need(length);
    const value = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  string(): Buffer {
    return this.bytes(this.uint32());
  }

  text(): string {
    return this.string().toString('utf8');
  }

  rest(): Buffer {
    return this.bytes(this.buffer.length - this.offset);
  }

  private need(length: number): void {
    if (this.offset + length > this.buffer.length) throw new Error(`${this.what} is cut short`);
  }
}

export function wireUint32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

export function wireString(value: Buffer | string): Buffer {
  const body = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return Buffer.concat([wireUint32(body.length), body]);
}
