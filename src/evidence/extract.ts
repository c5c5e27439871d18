/**
 * Unpacking a bundle without tar, safely: a bundle may come from anyone, so no entry may land
 * outside the destination. Absolute names, `..` segments, links that could lead out, device
 * files and FIFOs are refused (listed, not written); nothing is written through a symlink; no
 * file is overwritten. Modes are kept without setuid, setgid and sticky bits.
 */
import { createWriteStream } from 'node:fs';
import { chmod, link, lstat, mkdir, readdir, realpath, symlink, utimes } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UsageError, messageOf } from '../errors.js';
import { walkBundle, type BundleEntry } from './reader.js';

export interface ExtractResult {
  bundle: string;
  dir: string;
  files: number;
  directories: number;
  links: number;
  bytes: number;
  refused: Array<{ name: string; reason: string }>;
}

const PERMISSION_BITS = 0o777;

export async function extractBundle(bundle: string, destination: string): Promise<ExtractResult> {
  await mkdir(destination, { recursive: true, mode: 0o700 });
  const root = await realpath(destination);
  const result: ExtractResult = { bundle, dir: root, files: 0, directories: 0, links: 0, bytes: 0, refused: [] };
  // Directory modes are set last: a read-only folder must still take the files inside it.
  const directoryModes: Array<{ path: string; mode: number; mtime?: Date }> = [];
  await walkBundle(bundle, async (entry) => {
    const refuse = (reason: string) => void result.refused.push({ name: entry.name, reason });
    const rel = safeRelative(entry.name);
    if (typeof rel !== 'string') return refuse(rel.refused);
    if (rel === '') return;
    const target = join(root, rel);
    const parentProblem = await symlinkOnTheWay(root, rel);
    if (parentProblem) return refuse(parentProblem);
    try {
      switch (entry.type) {
        case 'directory':
          await mkdir(target, { recursive: true, mode: 0o700 });
          directoryModes.push({ path: target, mode: (entry.mode ?? 0o755) & PERMISSION_BITS, mtime: entry.mtime });
          result.directories += 1;
          return;
        case 'file':
        case 'contiguous-file':
          await mkdir(join(target, '..'), { recursive: true, mode: 0o700 });
          // 'wx': never overwrite, and never follow a symlink an earlier entry left at this name.
          await pipeline(Readable.from(entry.body), createWriteStream(target, { flags: 'wx', mode: 0o600 }));
          await keepMode(target, entry);
          result.files += 1;
          result.bytes += entry.size;
          return;
        case 'symlink':
          return await extractSymlink(root, rel, entry, result, refuse);
        case 'link':
          return await extractHardLink(root, entry, target, result, refuse);
        default:
          return refuse(`a ${entry.type} entry; only files, folders and links inside the bundle are extracted`);
      }
    } catch (error) {
      refuse(messageOf(error));
    }
  });
  for (const dir of directoryModes.reverse()) {
    await chmod(dir.path, dir.mode);
    if (dir.mtime) await utimes(dir.path, dir.mtime, dir.mtime).catch(() => undefined);
  }
  return result;
}

/** The entry's path inside the destination, or why it may not have one. */
export function safeRelative(name: string): string | { refused: string } {
  if (name.includes('\0')) return { refused: 'its name contains a NUL byte' };
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) return { refused: 'an absolute path' };
  const parts = name.split(/[/\\]+/).filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) return { refused: 'its path climbs out with ..' };
  return parts.join('/');
}

/** A symlink among the folders above `rel` (left by an earlier entry) could lead anywhere. */
async function symlinkOnTheWay(root: string, rel: string): Promise<string | undefined> {
  const parts = rel.split('/');
  for (let i = 1; i < parts.length; i++) {
    const info = await lstat(join(root, ...parts.slice(0, i))).catch(() => undefined);
    if (!info) return undefined;
    if (info.isSymbolicLink()) return `it would be written through the symlink ${parts.slice(0, i).join('/')}`;
  }
  return undefined;
}

/**
 * Only links that go down from their own folder are made: `..` is refused even when it looks
 * like it stays inside, because a link to `.` elsewhere turns `x/..` into a step out.
 */
async function extractSymlink(
  root: string,
  rel: string,
  entry: BundleEntry,
  result: ExtractResult,
  refuse: (reason: string) => void,
): Promise<void> {
  const to = entry.linkname ?? '';
  if (to === '' || posix.isAbsolute(to) || to.split('/').includes('..') || to.includes('\\'))
    return refuse(`a symlink to ${JSON.stringify(to)}, which could point outside the folder`);
  await mkdir(join(root, rel, '..'), { recursive: true, mode: 0o700 });
  await symlink(to, join(root, rel));
  result.links += 1;
}

async function extractHardLink(
  root: string,
  entry: BundleEntry,
  target: string,
  result: ExtractResult,
  refuse: (reason: string) => void,
): Promise<void> {
  const from = safeRelative(entry.linkname ?? '');
  if (typeof from !== 'string' || from === '')
    return refuse(`a hard link to ${JSON.stringify(entry.linkname ?? '')}, outside the folder`);
  const source = join(root, from);
  const info = (await symlinkOnTheWay(root, from)) ? undefined : await lstat(source).catch(() => undefined);
  if (!info?.isFile()) return refuse(`a hard link to ${from}, which is not a file extracted before it`);
  await mkdir(join(target, '..'), { recursive: true, mode: 0o700 });
  await link(source, target);
  result.links += 1;
}

async function keepMode(path: string, entry: BundleEntry): Promise<void> {
  await chmod(path, (entry.mode ?? 0o644) & PERMISSION_BITS);
  if (entry.mtime) await utimes(path, entry.mtime, entry.mtime).catch(() => undefined);
}

/** Throws UsageError when `dir` exists and is not an empty folder: extract never merges into old files. */
export async function assertEmptyDestination(dir: string): Promise<void> {
  const info = await lstat(dir).catch(() => undefined);
  if (!info) return;
  if (!info.isDirectory()) throw new UsageError(`${dir} exists and is not a folder; name a new or empty folder`);
  if ((await readdir(dir)).length > 0) throw new UsageError(`${dir} is not empty; name a new or empty folder`);
}
