/**
 * Debris: what a run that never finished its bundle leaves in the evidence folder. A second Ctrl-C
 * (process.exit), kill -9 or a crash skips every `finally`, so the `.partial` bundle, the hidden
 * spool files of streams that were still arriving, and the hidden journal stay where they were.
 * All of it is evidence: it is listed here, recovered by recover.ts, and never removed silently.
 *
 * A run still writing must not be mistaken for debris. A running writer keeps a run marker
 * `.<bundle>.pid` (createRunMarker) naming its process; debris whose marker names a live process
 * is in progress. Without a marker, on Linux, a process holding one of the files open for writing
 * is the writer (seen in /proc); where /proc is missing, files written to in the last
 * UNMARKED_GRACE_MS count as in progress.
 */
import { link, open, readFile, readdir, readlink, realpath, rename, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { formatBytes } from '../bytes.js';
import { UsageError } from '../errors.js';

export type DebrisKind = 'partial' | 'journal' | 'spool' | 'marker' | 'recovery';

export interface DebrisFile {
  path: string;
  name: string;
  kind: DebrisKind;
  /** Bytes; for a `recovery` folder, the bytes of the files in it. */
  size: number;
  mtime: Date;
}

export interface DebrisGroup {
  /** The file name of the bundle the run was writing, e.g. `20250102T030405Z_isolate_INC-42.tar.gz`. */
  bundle: string;
  dir: string;
  files: DebrisFile[];
  /** Bytes of the group's files, its marker aside. */
  size: number;
  /** The last time any of its files was written. */
  newest: Date;
  /** Why the run counts as still writing; undefined when it is finished and can be recovered. */
  inProgress?: string;
}

/** Where neither a marker nor /proc can tell, debris this fresh may still have a writer. */
export const UNMARKED_GRACE_MS = 30_000;

// A bundle name as naming.ts builds it: timestamp, playbook, incident, suffix.
const BUNDLE = String.raw`\d{8}T\d{6}Z_[A-Za-z0-9._-]+\.tar(?:\.gz)?`;
const PATTERNS: Array<[DebrisKind, RegExp]> = [
  ['partial', new RegExp(`^(${BUNDLE})\\.partial$`)],
  ['journal', new RegExp(`^\\.(${BUNDLE})\\.journal$`)],
  ['spool', new RegExp(`^\\.(${BUNDLE})\\.spool-[0-9a-f]+$`)],
  ['marker', new RegExp(`^\\.(${BUNDLE})\\.pid$`)],
  ['recovery', new RegExp(`^\\.(${BUNDLE})\\.recover-[0-9a-f]+$`)],
];

/** The kind of debris a file name is and the bundle it belongs to; undefined for anything else. */
export function classifyDebris(name: string): { kind: DebrisKind; bundle: string } | undefined {
  for (const [kind, pattern] of PATTERNS) {
    const match = pattern.exec(name);
    if (match) return { kind, bundle: match[1]! };
  }
  return undefined;
}

export function runMarkerPath(bundlePath: string): string {
  return join(dirname(bundlePath), `.${basename(bundlePath)}.pid`);
}

/**
 * Every debris group in `dir`, oldest first, each with `inProgress` decided. A folder that does
 * not exist has none; a path that is not a folder is a usage error.
 */
export async function findDebris(dir: string): Promise<DebrisGroup[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    if (code === 'ENOTDIR') throw new UsageError(`evidence folder ${dir} is not a folder`);
    throw error;
  }
  const groups = new Map<string, DebrisGroup>();
  for (const name of names) {
    const found = classifyDebris(name);
    if (!found) continue;
    const file = await debrisFile(join(dir, name), name, found.kind);
    if (!file) continue; // gone since readdir: its run just finished with it
    let group = groups.get(found.bundle);
    if (!group)
      groups.set(found.bundle, (group = { bundle: found.bundle, dir, files: [], size: 0, newest: file.mtime }));
    group.files.push(file);
    if (file.kind !== 'marker') group.size += file.size;
    if (file.mtime > group.newest) group.newest = file.mtime;
  }
  // A marker alone is not debris: a run that has just started, or one that finished before
  // removing it. It is reported with its bundle's other files only.
  const found = [...groups.values()].filter((g) => g.files.some((f) => f.kind !== 'marker'));
  await decideInProgress(found);
  return found.sort((a, b) => a.newest.getTime() - b.newest.getTime());
}

async function debrisFile(path: string, name: string, kind: DebrisKind): Promise<DebrisFile | undefined> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return undefined;
  if (kind === 'recovery' ? !info.isDirectory() : !info.isFile()) return undefined;
  let size = info.size;
  if (kind === 'recovery') {
    const inside = await readdir(path).catch(() => [] as string[]);
    const sizes = await Promise.all(
      inside.map((n) =>
        stat(join(path, n)).then(
          (s) => s.size,
          () => 0,
        ),
      ),
    );
    size = sizes.reduce((sum, s) => sum + s, 0);
  }
  return { path, name, kind, size, mtime: info.mtime };
}

async function decideInProgress(groups: DebrisGroup[]): Promise<void> {
  const unmarked: DebrisGroup[] = [];
  for (const group of groups) {
    const marker = group.files.find((f) => f.kind === 'marker');
    if (marker) group.inProgress = await markerWriter(marker);
    else unmarked.push(group);
  }
  if (unmarked.length === 0) return;
  const writers = await openForWriting(unmarked.flatMap((g) => g.files.map((f) => f.path)));
  for (const group of unmarked) {
    if (writers) {
      const pid = group.files.map((f) => writers.get(f.path)).find((p) => p !== undefined);
      if (pid !== undefined) group.inProgress = `process ${pid} is writing it`;
    } else if (Date.now() - group.newest.getTime() < UNMARKED_GRACE_MS) {
      group.inProgress = `written to ${Math.round((Date.now() - group.newest.getTime()) / 1000)} s ago and no run marker says by whom`;
    }
  }
}

// ---- the run marker -----------------------------------------------------------------------------

interface Marker {
  pid: number;
  host: string;
  /** The process's start time in clock ticks since boot (/proc), so a reused pid is not taken for the writer. */
  start?: string;
}

/**
 * Marks `bundlePath` as being written by this process, until removeRunMarker. Call it before the
 * bundle's first file appears, or at once after: unmarked fresh debris is judged by /proc alone.
 * A marker left by a dead process is replaced; one naming a live process is refused.
 */
export async function createRunMarker(bundlePath: string): Promise<string> {
  const path = runMarkerPath(bundlePath);
  const marker: Marker = { pid: process.pid, host: hostname(), start: await processStart(process.pid) };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o600);
      try {
        await handle.writeFile(`${JSON.stringify(marker)}\n`);
      } finally {
        await handle.close();
      }
      return path;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const info = await stat(path).catch(() => undefined);
    const writer = info && (await markerWriter({ path, mtime: info.mtime }));
    if (writer)
      throw new UsageError(`${basename(bundlePath)} is being written already (${writer}); use another incident id`);
    await setAsideStale(path);
  }
  throw new UsageError(`could not create the run marker ${path}: it keeps reappearing`);
}

/**
 * Renamed away rather than unlinked: of two processes replacing the same stale marker only one
 * rename succeeds. If what was renamed turns out to be a live writer's marker (it replaced the
 * stale one since we read it), it is put back.
 */
async function setAsideStale(path: string): Promise<void> {
  const aside = `${path}.stale-${process.pid}`;
  if (
    !(await rename(path, aside).then(
      () => true,
      () => false,
    ))
  )
    return;
  const writer = await markerWriter({ path: aside, mtime: new Date(0) });
  if (writer) await link(aside, path).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
  if (writer) throw new UsageError(`${basename(path)} names a run in progress (${writer})`);
}

/** Removes the marker if it is this process's own; never another writer's. */
export async function removeRunMarker(bundlePath: string): Promise<void> {
  const path = runMarkerPath(bundlePath);
  const marker = await readMarker(path);
  if (marker?.pid === process.pid && marker.host === hostname()) await unlink(path).catch(() => undefined);
}

async function readMarker(path: string): Promise<Marker | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<Marker>;
    if (!Number.isSafeInteger(parsed.pid) || typeof parsed.host !== 'string') return undefined;
    return { pid: parsed.pid!, host: parsed.host, start: typeof parsed.start === 'string' ? parsed.start : undefined };
  } catch {
    return undefined;
  }
}

/** Why the marker's writer counts as alive, or undefined when it is gone. */
async function markerWriter(file: { path: string; mtime: Date }): Promise<string | undefined> {
  const marker = await readMarker(file.path);
  if (!marker) {
    // Being written this instant, or left half-written by a crash long ago.
    const fresh = Date.now() - file.mtime.getTime() < UNMARKED_GRACE_MS;
    return fresh ? `its run marker ${basename(file.path)} is being written` : undefined;
  }
  if (marker.host !== hostname())
    return `run marker names process ${marker.pid} on host ${marker.host}, which cannot be checked from here`;
  return (await processAlive(marker.pid, marker.start)) ? `process ${marker.pid} is still running` : undefined;
}

/** Alive and not a zombie, and (where /proc tells) the same process that wrote the marker. */
async function processAlive(pid: number, start: string | undefined): Promise<boolean> {
  const fields = await procStat(pid);
  if (fields === null) return false;
  if (fields !== undefined) {
    if (fields.state === 'Z' || fields.state === 'X') return false;
    return start === undefined || fields.start === start;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function processStart(pid: number): Promise<string | undefined> {
  return (await procStat(pid))?.start;
}

/** State and start time from /proc/<pid>/stat; null when the process is gone, undefined without /proc. */
async function procStat(pid: number): Promise<{ state: string; start: string } | null | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return undefined;
    return (await stat('/proc/self/stat').then(
      () => true,
      () => false,
    ))
      ? null
      : undefined;
  }
  // The command name (field 2) may hold spaces and parentheses; the fields after the last ')' do not.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0] ?? '', start: rest[19] ?? '' };
}

/**
 * For each of `paths` that some process holds open for writing, that process's pid; undefined
 * when /proc cannot be read. Only the files' own folder names are compared, resolved as /proc
 * shows them.
 */
async function openForWriting(paths: string[]): Promise<Map<string, number> | undefined> {
  const pids = await readdir('/proc').then(
    (names) => names.filter((n) => /^\d+$/.test(n)),
    () => undefined,
  );
  if (!pids) return undefined;
  const wanted = new Map<string, string>();
  for (const path of paths)
    wanted.set(join(await realpath(dirname(path)).catch(() => dirname(path)), basename(path)), path);
  const found = new Map<string, number>();
  await Promise.all(
    pids.map(async (pid) => {
      const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
      for (const fd of fds) {
        const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
        const path = wanted.get(target);
        if (path === undefined) continue;
        const info = await readFile(`/proc/${pid}/fdinfo/${fd}`, 'utf8').catch(() => '');
        const flags = Number.parseInt(/^flags:\s*([0-7]+)/m.exec(info)?.[1] ?? '0', 8);
        if ((flags & 0o3) !== 0) found.set(path, Number(pid)); // O_WRONLY or O_RDWR: a writer, not a reader
      }
    }),
  );
  return found;
}

// ---- the warning a run prints -------------------------------------------------------------------

/**
 * The one line a run prints on stderr when it finds debris of finished runs in its evidence
 * folder; undefined when there is none (debris of runs in progress is theirs).
 */
export function debrisWarning(groups: readonly DebrisGroup[], dir: string): string | undefined {
  const left = groups.filter((g) => !g.inProgress);
  if (left.length === 0) return undefined;
  const bytes = left.reduce((sum, g) => sum + g.size, 0);
  const runs = left.length === 1 ? '1 run' : `${left.length} runs`;
  return (
    `firebreak: WARNING: ${runs} that did not finish left ${formatBytes(bytes)} of unfinalised evidence in ${dir} ` +
    `(partial bundles, spool files, journals): run \`firebreak bundle recover --evidence-dir ${dir}\` to turn it into verifiable bundles`
  );
}

/**
 * The warning line for `dir`, for a run to print as it starts; never throws, because a look at old
 * debris must not stop containment (an unusable folder is reported by whoever writes to it).
 */
export async function debrisWarningFor(dir: string): Promise<string | undefined> {
  try {
    return debrisWarning(await findDebris(dir), dir);
  } catch {
    return undefined;
  }
}
