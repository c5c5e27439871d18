import { PassThrough, Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { demultiplex, FrameParser } from '../../src/docker/demux.js';

/** One frame as the engine writes it: [stream, 0, 0, 0, size (uint32 BE)] then the payload. */
function frame(stream: number, payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

/** A writable that keeps what it gets. */
function collector(options: { highWaterMark?: number; delayMs?: number } = {}) {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    highWaterMark: options.highWaterMark ?? 16 * 1024,
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      if (options.delayMs) setTimeout(done, options.delayMs);
      else done();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8'), bytes: () => Buffer.concat(chunks).length };
}

function chunked(buffer: Buffer, size: number): Readable {
  const pieces: Buffer[] = [];
  for (let at = 0; at < buffer.length; at += size) pieces.push(buffer.subarray(at, at + size));
  return Readable.from(pieces);
}

describe('demultiplex', () => {
  it('sends stdout frames to one writable and stderr frames to the other, in order', async () => {
    const input = Buffer.concat([frame(1, 'out 1\n'), frame(2, 'err 1\n'), frame(1, 'out 2\n'), frame(2, 'err 2\n')]);
    const out = collector();
    const err = collector();
    const counts = await demultiplex(Readable.from([input]), out.stream, err.stream);
    expect(out.text()).toBe('out 1\nout 2\n');
    expect(err.text()).toBe('err 1\nerr 2\n');
    expect(counts).toEqual({ stdout: 12, stderr: 12 });
  });

  it('reassembles frames split anywhere, headers included, when fed one byte at a time', async () => {
    const input = Buffer.concat([frame(1, 'hello '), frame(2, 'oops'), frame(1, 'world'), frame(1, '')]);
    const out = collector();
    const err = collector();
    await demultiplex(chunked(input, 1), out.stream, err.stream);
    expect(out.text()).toBe('hello world');
    expect(err.text()).toBe('oops');
  });

  it('passes a large frame through in slices without gathering it', () => {
    const parser = new FrameParser();
    const payload = Buffer.alloc(1024 * 1024, 0x61);
    const input = frame(1, payload);
    let largest = 0;
    let total = 0;
    for (let at = 0; at < input.length; at += 64 * 1024) {
      for (const slice of parser.push(input.subarray(at, at + 64 * 1024))) {
        largest = Math.max(largest, slice.payload.length);
        total += slice.payload.length;
      }
    }
    parser.end();
    expect(total).toBe(payload.length);
    expect(largest).toBeLessThanOrEqual(64 * 1024);
  });

  it('waits for a slow destination instead of reading the source ahead', async () => {
    const frames = Array.from({ length: 200 }, (_, i) => frame(1, `${'x'.repeat(1000)}${i}\n`));
    let pulled = 0;
    const source = new Readable({
      highWaterMark: 1024,
      read() {
        this.push(pulled < frames.length ? frames[pulled++] : null);
      },
    });
    const out = new PassThrough({ highWaterMark: 4096 });
    const err = collector();
    const done = demultiplex(source, out, err.stream);
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Nobody reads `out`: only a few frames may be in flight before backpressure stops the source.
    expect(pulled).toBeLessThan(20);
    const read = collector({ delayMs: 0 });
    out.pipe(read.stream);
    await done;
    expect(pulled).toBe(frames.length);
    expect(read.bytes()).toBe(frames.reduce((sum, f) => sum + f.length - 8, 0));
  });

  it('refuses a stream that is not multiplexed, naming TTY containers as the likely cause', async () => {
    const out = collector();
    const err = collector();
    await expect(
      demultiplex(Readable.from([Buffer.from('2026-01-01T00:00:00Z plain tty output\n')]), out.stream, err.stream),
    ).rejects.toThrow(/not a multiplexed stream at byte 0.*TTY/);
    expect(out.stream.destroyed).toBe(true);
    expect(err.stream.destroyed).toBe(true);
  });

  it('fails when the stream ends inside a frame rather than keep a shortened copy quietly', async () => {
    const cut = frame(1, 'complete line\n').subarray(0, 10);
    const out = collector();
    const err = collector();
    await expect(demultiplex(Readable.from([frame(2, 'first\n'), cut]), out.stream, err.stream)).rejects.toThrow(
      /ended inside a frame/,
    );
    expect(out.stream.destroyed).toBe(true);
  });

  it('turns an engine error frame (stream 3) into an error carrying the engine message', async () => {
    const out = collector();
    const err = collector();
    const input = Buffer.concat([frame(1, 'ok\n'), frame(3, 'container log driver failed')]);
    await expect(demultiplex(chunked(input, 3), out.stream, err.stream)).rejects.toThrow(
      'engine said: container log driver failed',
    );
  });

  it('fails instead of hanging when a destination is destroyed while it waits for drain', async () => {
    const big = frame(1, Buffer.alloc(256 * 1024, 0x62));
    const out = new PassThrough({ highWaterMark: 1024 });
    const err = collector();
    const done = demultiplex(Readable.from([big, big]), out, err.stream);
    setTimeout(() => out.destroy(new Error('the spool failed')), 20);
    await expect(done).rejects.toThrow(/the spool failed|closed early/);
  });
});
