import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { copyArchive } from '../../src/steps/archive-copy.js';

type Entry = { name: string; body?: string; type?: 'directory' | 'link' | 'symlink'; linkname?: string };

/** A tar as the archive API sends one: names relative to the path's parent. */
async function archive(entries: Entry[]): Promise<Readable> {
  const pack = tar.pack();
  for (const e of entries) {
    if (e.type) pack.entry({ name: e.name, type: e.type, linkname: e.linkname });
    else pack.entry({ name: e.name }, e.body ?? '');
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack as AsyncIterable<Buffer>) chunks.push(chunk);
  return Readable.from([Buffer.concat(chunks)]);
}

/** Copies into a fresh pack and reads that pack back: names and bodies. */
async function copied(entries: Entry[], budget: number) {
  const pack = tar.pack();
  const copying = copyArchive(await archive(entries), pack, 'srv/', { remaining: budget }).then((result) => {
    pack.finalize();
    return result;
  });
  const out = tar.extract();
  const bodies = new Map<string, string>();
  const reading = (async () => {
    for await (const entry of out) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      bodies.set(entry.header.name, Buffer.concat(chunks).toString('utf8'));
    }
  })();
  (pack as unknown as NodeJS.ReadableStream).pipe(out as unknown as NodeJS.WritableStream);
  const [result] = await Promise.all([copying, reading]);
  return { result, bodies };
}

describe('copyArchive', () => {
  const dir: Entry[] = [
    { name: 'x/', type: 'directory' },
    { name: 'x/a.txt', body: 'aa' },
    { name: 'x/big.bin', body: 'b'.repeat(100) },
    { name: 'x/hard', type: 'link', linkname: 'x/big.bin' },
    { name: 'x/z.txt', body: 'zz' },
  ];

  it('leaves out an entry over the budget and copies every entry after it under the prefix', async () => {
    const { result, bodies } = await copied(dir, 10);
    expect([...bodies.keys()]).toEqual(['srv/x/', 'srv/x/a.txt', 'srv/x/z.txt']);
    expect(bodies.get('srv/x/z.txt')).toBe('zz');
    expect(result.copied.map((e) => `${e.name}:${e.type}:${e.size}`)).toEqual([
      'srv/x/:directory:0',
      'srv/x/a.txt:file:2',
      'srv/x/z.txt:file:2',
    ]);
    expect(result.bytes).toBe(4);
    expect(result.leftOut).toEqual([
      { name: 'srv/x/big.bin', size: 100, remaining: 8 },
      { name: 'srv/x/hard', size: 0, remaining: 8, linkTo: 'srv/x/big.bin' },
    ]);
  });

  it('copies everything, hard links renamed with their target, when the budget allows', async () => {
    const { result, bodies } = await copied(dir, 1000);
    expect([...bodies.keys()]).toEqual(['srv/x/', 'srv/x/a.txt', 'srv/x/big.bin', 'srv/x/hard', 'srv/x/z.txt']);
    expect(result.leftOut).toEqual([]);
    expect(result.bytes).toBe(104);
  });

  it('leaves out an entry whose name or hard-link target would leave the folder it is unpacked in, and keeps a symlink pointing out as evidence', async () => {
    const hostile: Entry[] = [
      { name: '../../etc/cron.d/x', body: 'evil' },
      { name: '/abs', body: 'evil' },
      { name: 'x/../../y', body: 'evil' },
      { name: 'x/hard', type: 'link', linkname: '../../etc/passwd' },
      { name: 'x/out', type: 'symlink', linkname: '../../../../etc/passwd' },
      { name: 'x/fine', body: 'ok' },
    ];
    const { result, bodies } = await copied(hostile, 1000);
    expect([...bodies.keys()]).toEqual(['srv/x/out', 'srv/x/fine']);
    expect(result.copied.map((e) => `${e.name}:${e.type}`)).toEqual(['srv/x/out:symlink', 'srv/x/fine:file']);
    expect(result.leftOut.map((e) => [e.name, e.unsafe])).toEqual([
      ['srv/../../etc/cron.d/x', 'its name "../../etc/cron.d/x" would leave the folder it is unpacked in'],
      ['srv//abs', 'its name "/abs" would leave the folder it is unpacked in'],
      ['srv/x/../../y', 'its name "x/../../y" would leave the folder it is unpacked in'],
      ['srv/x/hard', 'a hard link to "../../etc/passwd", outside the folder it is unpacked in'],
    ]);
  });
});
