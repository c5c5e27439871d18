// Unpacks a bundle with the system's tar and checks it with sha256sum, as a responder would.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(prefix = 'firebreak-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface UnpackedBag {
  dir: string;
  read(path: string): string;
  json<T = any>(path: string): T;
  sha256Check(manifest: string): string;
}

export function unpackBundle(bundle: string): UnpackedBag {
  const into = tempDir('firebreak-unpack-');
  execFileSync('tar', ['-xf', bundle, '-C', into]);
  const [bag] = readdirSync(into);
  const dir = join(into, bag!);
  return {
    dir,
    read: (path) => readFileSync(join(dir, path), 'utf8'),
    json: (path) => JSON.parse(readFileSync(join(dir, path), 'utf8')),
    sha256Check: (manifest) => execFileSync('sha256sum', ['-c', manifest], { cwd: dir, encoding: 'utf8' }),
  };
}

/** The bundle path named on the last line of human output. */
export function bundleFromOutput(stdout: string): { path: string; sha256: string } {
  const last = stdout.trim().split('\n').pop() ?? '';
  const match = /^bundle (\S+) sha256 ([0-9a-f]{64})$/.exec(last);
  if (!match) throw new Error(`last line does not name the bundle: ${last}`);
  return { path: match[1]!, sha256: match[2]! };
}
