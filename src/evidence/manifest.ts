/**
 * SHA-256 as the bundle uses it: a pass-through stream that hashes and counts what flows by,
 * and the manifest text (`manifest-sha256.txt`, `tagmanifest-sha256.txt`) written and read back.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

export interface ManifestEntry {
  /** Path relative to the bag folder, e.g. `data/run.json` or `bag-info.txt`. */
  path: string;
  sha256: string;
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Hashes and counts the bytes that pass through, in the same pass that moves them. */
export class DigestStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private digest: string | undefined;
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  /** The hex digest; only meaningful once the stream has ended. */
  sha256(): string {
    this.digest ??= this.hash.digest('hex');
    return this.digest;
  }
}

/**
 * One `<sha256>  <path>` line per file. Two spaces is what `sha256sum` writes and reads in
 * text mode, and BagIt accepts any whitespace there, so one file serves both tools.
 */
export function manifestText(entries: readonly ManifestEntry[]): string {
  return entries.map((e) => `${e.sha256}  ${e.path}\n`).join('');
}

export interface ParsedManifest {
  entries: Map<string, string>;
  /** One human line per line that could not be read, or path listed twice. */
  problems: string[];
}

const LINE = /^([0-9A-Fa-f]{64})[ \t]+(.+)$/;

/** Reads a manifest written by us or by another BagIt tool (which may percent-encode CR, LF, %). */
export function parseManifest(text: string, fileName: string): ParsedManifest {
  const entries = new Map<string, string>();
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === '') return;
    const match = LINE.exec(line);
    if (!match) {
      problems.push(`${fileName} line ${index + 1} is not "<sha256>  <path>": ${JSON.stringify(line)}`);
      return;
    }
    const path = decodeBagItPath(match[2]!);
    if (entries.has(path)) problems.push(`${fileName} lists ${path} twice`);
    entries.set(path, match[1]!.toLowerCase());
  });
  return { entries, problems };
}

function decodeBagItPath(path: string): string {
  return path.replace(/%0A|%0D|%25/gi, (code) => decodeURIComponent(code));
}
