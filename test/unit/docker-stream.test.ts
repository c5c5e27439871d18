import { PassThrough, Readable } from 'node:stream';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { checkedStream } from '../../src/docker/stream.js';
import { EngineUnreachableError } from '../../src/errors.js';

const label = { request: 'GET /containers/3f2a9c1b0d4e/export', endpoint: 'unix:///run/x.sock' };

/** An HTTP answer as Node gives it: `complete` turns true only once the chunked terminator was read. */
function answer(): PassThrough & { complete: boolean } {
  return Object.assign(new PassThrough(), { complete: false });
}

async function read(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function wholeTar(): Promise<Buffer> {
  const pack = tar.pack();
  pack.entry({ name: 'etc/hostname' }, 'web-1\n');
  pack.finalize();
  return read(Readable.from(pack as AsyncIterable<Buffer>));
}

describe('checkedStream', () => {
  it('passes a whole answer through unchanged', async () => {
    const bytes = await wholeTar();
    const source = answer();
    const checked = checkedStream(source, { ...label, tar: true });
    source.end(bytes, () => (source.complete = true));
    expect((await read(checked)).equals(bytes)).toBe(true);
  });

  it('fails with the engine named when the connection breaks mid-answer', async () => {
    const source = answer();
    const checked = checkedStream(source, label);
    source.write(Buffer.alloc(3 * 1024 * 1024));
    setImmediate(() => source.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })));
    const error = await read(checked).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineUnreachableError);
    expect((error as Error).message).toBe(
      'the Docker engine at unix:///run/x.sock stopped answering during GET /containers/3f2a9c1b0d4e/export, after 3.0 MiB (ECONNRESET)',
    );
  });

  it('fails when the answer ends without its chunked terminator', async () => {
    const source = answer();
    const checked = checkedStream(source, label);
    source.end(Buffer.from('partial'));
    await expect(read(checked)).rejects.toThrow(/after 7 B \(the answer ended early\)/);
  });

  it('fails a tar that ends cleanly but short: the answer looked complete, the tar is not; the engine itself is not lost', async () => {
    const bytes = await wholeTar();
    const source = answer();
    const checked = checkedStream(source, { ...label, tar: true });
    source.end(bytes.subarray(0, 512), () => (source.complete = true));
    const error = await read(checked).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(EngineUnreachableError);
    expect((error as Error).message).toBe(
      'GET /containers/3f2a9c1b0d4e/export at unix:///run/x.sock ended after 512 B, but the tar has no end-of-archive blocks (it stops inside an entry): the answer was cut short',
    );
  });

  it("answers an abort with the signal's reason, not as a lost engine", async () => {
    const controller = new AbortController();
    const source = answer();
    const checked = checkedStream(source, { ...label, signal: controller.signal });
    source.write(Buffer.from('x'));
    const reason = new Error('interrupted by SIGINT');
    setImmediate(() => {
      controller.abort(reason);
      source.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    });
    await expect(read(checked)).rejects.toBe(reason);
  });

  it('stops the download when the reader gives up, even while a chunk is awaited', async () => {
    const source = answer();
    const checked = checkedStream(source, label);
    source.write(Buffer.from('x'));
    const reading = checked[Symbol.asyncIterator]();
    await reading.next();
    // The iterator of a destroyed stream rejects (premature close): that is the reader's own doing.
    const pending = reading.next().catch(() => undefined);
    checked.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    expect(source.destroyed).toBe(true);
    await pending;
  });
});
