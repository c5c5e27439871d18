/**
 * The evidence folder, checked before anything changes: a folder that can never hold a bundle
 * (a file in the way, a kernel pseudo-filesystem, a read-only mount, no permission) is bad input,
 * exit 2, named with its cause. A folder that is merely full is not refused: containment goes on
 * and the bundle falls back elsewhere (store.ts), because a full disk must never stop an isolation.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, open, stat, statfs, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from '../errors.js';

/** statfs `type` magic numbers of filesystems that hold no files of ours (linux/magic.h). */
const pseudoFilesystems = new Map<number, string>([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x1cd1, 'devpts'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0xcafe4a11, 'bpf'],
  [0x6e736673, 'nsfs'],
  [0x42494e4d, 'binfmt_misc'],
  [0x50495045, 'pipefs'],
]);

export interface EvidenceFolder {
  /** Absolute path of the folder, which exists now. */
  path: string;
  /** Bytes an unprivileged writer may still use there, when the filesystem says. */
  freeBytes?: number;
  /** A warning when others can list or change the folder (see exposureOf); undefined when only we can. */
  exposed?: string;
}

/**
 * Makes sure `dir` exists (created 0700, parents too) and a file can be created in it. Never
 * Node's recursive mkdir: under /proc it loops at full CPU and ignores SIGTERM.
 */
export async function prepareEvidenceFolder(dir: string): Promise<EvidenceFolder> {
  const path = resolve(dir);
  const label = `--evidence-dir ${dir}`;
  await refusePseudoFilesystem(path, label);
  await makeFolders(path, label);
  const info = await stat(path);
  if (!info.isDirectory()) throw new UsageError(`${label}: ${path} is not a folder`);
  await probeWrite(path, label);
  const exposed = exposureOf(info, path);
  return { path, freeBytes: await freeBytes(path), ...(exposed ? { exposed } : {}) };
}

/**
 * Folders firebreak creates are 0700 whatever the umask (mkdir's mode, which a umask can only
 * narrow). A folder that already existed keeps its mode: firebreak warns, and neither refuses nor
 * chmods it. Not chmod, because the folder is the operator's (a team share set 0750 on purpose
 * would lock the team out); not refuse, because containment must never wait on a folder's mode,
 * and what is inside is safe anyway: every file firebreak writes there is created 0600 and
 * exclusively (O_EXCL, so a planted name or symlink is never written through). What others can
 * do is see the bundles' names (playbook, incident) and, with write access or as the owner,
 * delete or replace them; the warning says which, and the fix.
 */
export function exposureOf(info: { mode: number; uid: number }, path: string): string | undefined {
  const uid = process.getuid?.();
  const foreign = uid !== undefined && info.uid !== uid;
  const mode = info.mode & 0o777;
  if (!foreign && (mode & 0o077) === 0) return undefined;
  const octal = mode.toString(8).padStart(4, '0');
  const writable = (mode & 0o022) !== 0;
  const who = [mode & 0o070 ? 'its group' : '', mode & 0o007 ? 'every user' : ''].filter(Boolean).join(' and ');
  const what = writable
    ? 'list, delete or replace its bundles'
    : 'list its bundles (their names, not their contents: bundles are 0600)';
  const owner = foreign ? `it belongs to uid ${info.uid}, who can delete or replace its bundles` : '';
  const others = mode & 0o077 ? `${who} can ${what}` : '';
  const fix = foreign ? `use a folder of your own (--evidence-dir)` : `chmod 700 ${path}`;
  return `evidence folder ${path} (mode ${octal}): ${[owner, others].filter(Boolean).join('; ')}; ${fix}`;
}

/** Bytes free for us at `path`, or undefined when the filesystem will not say. */
export async function freeBytes(path: string): Promise<number | undefined> {
  try {
    const fs = await statfs(path);
    return fs.bavail * fs.bsize;
  } catch {
    return undefined;
  }
}

async function refusePseudoFilesystem(path: string, label: string): Promise<void> {
  const existing = await nearestExisting(path);
  let kind: string | undefined;
  try {
    kind = pseudoFilesystems.get((await statfs(existing)).type);
  } catch {
    return; // The mkdir below says what is wrong with a path statfs cannot read.
  }
  if (kind)
    throw new UsageError(
      `${label}: ${existing} is on a ${kind} filesystem (kernel data, not a disk); choose a folder on a real disk`,
    );
}

async function nearestExisting(path: string): Promise<string> {
  for (let at = path; ; at = dirname(at)) {
    if (
      await stat(at).then(
        () => true,
        () => false,
      )
    )
      return at;
    if (dirname(at) === at) return at;
  }
}

/** mkdir -p, one level at a time, so each failure names the level and its cause. */
async function makeFolders(path: string, label: string): Promise<void> {
  const missing: string[] = [];
  for (
    let at = path;
    !(await stat(at).then(
      () => true,
      () => false,
    ));
    at = dirname(at)
  ) {
    if (dirname(at) === at) break;
    missing.unshift(at);
  }
  for (const folder of missing) {
    try {
      await mkdir(folder, { mode: 0o700 });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && (await stat(folder)).isDirectory()) continue;
      throw new UsageError(`${label}: cannot create ${folder}: ${causeOf(code, folder)}`);
    }
  }
}

/** Creating a file is the only honest test: root passes access(2) on a folder it cannot write to. */
async function probeWrite(path: string, label: string): Promise<void> {
  // Unique per call, not per process: recover, watch, drill and the engines of a fleet run check one folder at once.
  const probe = join(path, `.firebreak-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await access(path, constants.W_OK | constants.X_OK);
    const handle = await open(probe, 'wx', 0o600);
    await handle.close();
    await unlink(probe);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Full is not unusable: the run goes on and its bundle falls back (see store.ts).
    if (code === 'ENOSPC' || code === 'EDQUOT') return;
    await unlink(probe).catch(() => undefined);
    throw new UsageError(`${label}: cannot write in ${path}: ${causeOf(code, path)}`);
  }
}

function causeOf(code: string | undefined, path: string): string {
  switch (code) {
    case 'EROFS':
      return 'the filesystem is mounted read-only';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return `a file is in the way on the path to ${path}`;
    case 'ENOENT':
      return 'the path cannot be created there (a parent is missing or is not a real folder)';
    case 'ENOSPC':
      return 'no space left on the device';
    default:
      return code ?? 'unknown error';
  }
}
