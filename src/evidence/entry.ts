/**
 * One entry of known size through tar-stream's pack: the header goes first, then exactly `size`
 * bytes. A failing or wrong-length source cannot take back the header, so the entry is completed
 * (cut or zero-filled) to keep the tar readable for every other artifact, and the problem is
 * returned for the caller to report.
 */
import { createHash, type Hash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Pack } from 'tar-stream';
import type { ByteSource } from './spool.js';

type EntrySink = ReturnType<Pack['entry']>;

/** Every entry is private to the owner, like the bundle itself. */
export const ENTRY_MODE = 0o600;

export interface EntryResult {
  /** Of the bytes stored, unless the caller vouched for them (`knownSha256`). */
  sha256: string | undefined;
  problem?: unknown;
}

/**
 * Appends `<bag>/<relInBag>` with exactly `size` bytes from `source`. With `knownSha256` the bytes are not
 * hashed again: the caller took that hash on the same bytes already (see BundleWriter.addUnknownLength).
 */
export async function appendEntry(
  pack: Pack,
  bag: string,
  relInBag: string,
  size: number,
  source: () => ByteSource,
  knownSha256?: string,
): Promise<EntryResult> {
  let sink!: EntrySink;
  const done = new Promise<void>((resolve, reject) => {
    const header = { name: `${bag}/${relInBag}`, size, mode: ENTRY_MODE, mtime: new Date(), type: 'file' as const };
    sink = pack.entry(header, (error) => (error ? reject(error) : resolve()));
  });
  done.catch(() => undefined); // observed below; this only keeps an early failure from being unhandled
  const feed = new EntryFeed(sink, size, relInBag, knownSha256 === undefined ? createHash('sha256') : undefined);
  let problem: unknown;
  try {
    await pipeline(source(), (chunks: AsyncIterable<Buffer | string>) => feed.copy(chunks));
    if (feed.written < size)
      problem = new Error(
        `${relInBag}: the stream ended after ${feed.written} of the declared ${size} bytes; the entry was zero-filled`,
      );
  } catch (error) {
    problem = error;
  }
  await feed.fill();
  sink.end(undefined);
  await done;
  return { sha256: knownSha256 ?? feed.sha256(), problem };
}

const ZEROS = Buffer.alloc(64 * 1024);

/** Feeds one tar entry: hashes exactly what goes in (when asked to), never more than the header's size. */
class EntryFeed {
  written = 0;

  constructor(
    private readonly sink: EntrySink,
    private readonly size: number,
    private readonly label: string,
    private readonly hash: Hash | undefined,
  ) {}

  async copy(chunks: AsyncIterable<Buffer | string>): Promise<void> {
    for await (const raw of chunks) {
      const chunk = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
      const room = this.size - this.written;
      if (chunk.length > room) {
        await this.put(chunk.subarray(0, room));
        throw new Error(
          `${this.label}: the stream gave more than the declared ${this.size} bytes; the entry was cut there`,
        );
      }
      await this.put(chunk);
    }
  }

  async fill(): Promise<void> {
    while (this.written < this.size)
      await this.put(ZEROS.subarray(0, Math.min(ZEROS.length, this.size - this.written)));
  }

  sha256(): string | undefined {
    return this.hash?.digest('hex');
  }

  private async put(chunk: Buffer): Promise<void> {
    if (chunk.length === 0) return;
    this.hash?.update(chunk);
    this.written += chunk.length;
    if (!this.sink.write(chunk)) await drained(this.sink);
  }
}

/** Resolves on 'drain'; rejects if the entry is torn down first (the whole tar failed). */
function drained(sink: EntrySink): Promise<void> {
  return new Promise((resolve, reject) => {
    if (sink.destroyed || sink.destroying) {
      reject(new Error('the bundle stream closed while an entry was being written'));
      return;
    }
    const onDrain = (): void => {
      sink.off('close', onClose);
      resolve();
    };
    const onClose = (): void => {
      sink.off('drain', onDrain);
      reject(new Error('the bundle stream closed while an entry was being written'));
    };
    sink.once('drain', onDrain);
    sink.once('close', onClose);
  });
}
