import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Args } from '@oclif/core';
import { FirebreakCommand } from '../../cli/base.js';
import { UsageError } from '../../errors.js';
import { walkBundle } from '../../evidence/reader.js';

export default class BundleCat extends FirebreakCommand {
  static override summary = 'Write one artifact of a bundle to stdout, without tar.';
  static override description =
    'PATH is relative to the bag: data/targets/web-1/inspect.json, or targets/web-1/inspect.json (data/ may be left out), ' +
    'or a tag file such as bag-info.txt. An unknown PATH is exit 2, naming the closest paths the bundle holds. ' +
    'The bytes are written as stored; this does not verify the bundle (run `bundle verify` for that).';
  static override examples = [
    '<%= config.bin %> bundle cat evidence/20250102T030405Z_forensics_INC-42.tar.gz targets/web-1/inspect.json',
    '<%= config.bin %> bundle cat evidence/20250102T030405Z_forensics_INC-42.tar.gz data/run.json | jq .status',
  ];
  // The artifact is the output: there is no JSON document to give.
  static override enableJsonFlag = false;
  static override args = {
    bundle: Args.string({ required: true, description: 'bundle file (.tar.gz or .tar)' }),
    path: Args.string({ required: true, description: 'path inside the bag, e.g. data/run.json' }),
  };

  async run(): Promise<void> {
    const { args } = await this.parse(BundleCat);
    const wanted = args.path.replace(/^\.?\/+/, '');
    const candidates = new Set([wanted, `data/${wanted}`]);
    const names: string[] = [];
    let found = false;
    await walkBundle(args.bundle, async (entry) => {
      if (entry.type !== 'file' && entry.type !== 'contiguous-file') return;
      names.push(entry.rel);
      if (found || !candidates.has(entry.rel)) return;
      found = true;
      // pipeline keeps backpressure: `bundle cat ... | head` must not buffer a whole export.
      await pipeline(Readable.from(entry.body), process.stdout, { end: false });
    });
    if (!found) {
      const close = closestPaths(wanted, names);
      throw new UsageError(
        `${args.bundle} holds no ${args.path}` +
          (close.length
            ? `; did you mean ${close.join(', ')}?`
            : `; it holds ${names.length} files (bundle list, or tar tf)`),
      );
    }
  }
}

/** Paths that share the wanted file name, then those nearest by edit distance; at most five. */
export function closestPaths(wanted: string, names: readonly string[]): string[] {
  const base = wanted.split('/').pop()!;
  const scored = names.map((name) => ({
    name,
    score: (name.endsWith(`/${base}`) || name === base ? 0 : 1000) + distance(wanted, name.replace(/^data\//, '')),
  }));
  return scored
    .sort((a, b) => a.score - b.score)
    .filter((s) => s.score < 1000 || s.score - 1000 <= Math.max(3, wanted.length / 3))
    .slice(0, 5)
    .map((s) => s.name);
}

function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++)
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}
