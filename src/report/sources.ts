/**
 * The evidence files of one container that the report reads besides run.json: small JSON
 * documents whole, and the logs only by their last bytes, so a log of gigabytes costs the report
 * no more memory than one of a few lines. The run keeps them as the steps store them; `report`
 * reads them back from the bundle; both hand the same TargetEvidence to buildReport.
 */

export interface TargetEvidence {
  inspect?: unknown;
  top?: unknown;
  stats?: unknown;
  diff?: unknown;
  image?: unknown;
  /** The last bytes of each log, as text. */
  stdout?: string;
  stderr?: string;
}

type DocumentKey = 'inspect' | 'top' | 'stats' | 'diff' | 'image';
type LogKey = 'stdout' | 'stderr';

/** Artifact file names (inside data/targets/<name>/) and where each goes in TargetEvidence. */
export const reportDocuments: Readonly<Record<string, DocumentKey>> = {
  'inspect.json': 'inspect',
  'top.json': 'top',
  'stats.json': 'stats',
  'diff.json': 'diff',
  'image.json': 'image',
};
export const reportLogs: Readonly<Record<string, LogKey>> = {
  'logs.stdout.log': 'stdout',
  'logs.stderr.log': 'stderr',
};

/** Enough for the last lines the report shows, with room for long ones. */
export const logTailBytes = 16 * 1024;

/** Keeps the last `limit` bytes of a stream it is fed, chunk by chunk. */
export class TailKeeper {
  private chunks: Buffer[] = [];
  private size = 0;
  private cut = false;

  constructor(private readonly limit = logTailBytes) {}

  add(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - this.chunks[0]!.length >= this.limit) {
      this.size -= this.chunks.shift()!.length;
      this.cut = true;
    }
  }

  /** The kept bytes as text; when the start was cut, the partial first line is dropped. */
  text(): string {
    let bytes = Buffer.concat(this.chunks);
    if (bytes.length > this.limit) {
      bytes = bytes.subarray(bytes.length - this.limit);
      this.cut = true;
    }
    const text = bytes.toString('utf8');
    if (!this.cut) return text;
    const newline = text.indexOf('\n');
    return newline === -1 ? text : text.slice(newline + 1);
  }
}

/** `data/targets/<folder>/<file>` split into folder and file; undefined for other paths. */
export function targetArtifact(rel: string): { folder: string; file: string } | undefined {
  const match = /^data\/targets\/([^/]+)\/([^/]+)$/.exec(rel);
  return match ? { folder: match[1]!, file: match[2]! } : undefined;
}
