/**
 * One firebreak at a time changes a container. Two runs that interleave on one container (two
 * throttles at once, an isolate beside a quarantine) record each other's changes as "previous",
 * and the undo then restores the wrong state. A run that changes state takes a lock file per
 * engine and container, held until its bundle is finished (so the next run reads its record), and
 * a second run waits for it, bounded, then refuses. A lock whose process is gone (a crash, kill -9)
 * is stale and taken over.
 */
import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Target } from '../docker/index.js';
import { formatDuration, parseDuration } from '../duration.js';
import { FirebreakError, UsageError } from '../errors.js';
import { sleep } from './retry.js';

const pollMs = 100;

interface Holder {
  pid: number;
  playbook: string;
  container: string;
  since: string;
}

/**
 * How long a run waits for another firebreak changing the same container: FIREBREAK_LOCK_WAIT
 * (10s, 2m, 0 to refuse at once; a bare number is seconds), else a minute, long enough for a
 * quarantine's grace period and short enough that an unattended run does not hang on a stuck one.
 */
export function lockWaitMs(env: NodeJS.ProcessEnv = process.env): number {
  const value = env.FIREBREAK_LOCK_WAIT?.trim();
  return value ? parseDuration(/^\d+(\.\d+)?$/.test(value) ? Number(value) : value, 'FIREBREAK_LOCK_WAIT') : 60_000;
}

export function lockDir(): string {
  return process.env.FIREBREAK_LOCK_DIR || join(process.env.XDG_RUNTIME_DIR || tmpdir(), 'firebreak-locks');
}

/** Takes every target's lock, in id order so two runs never wait on each other; returns the release. */
export async function lockTargets(
  engine: string,
  targets: readonly Target[],
  opts: { playbook: string; waitMs: number; signal: AbortSignal; onWait?: (target: Target, holder: Holder) => void },
): Promise<() => Promise<void>> {
  const dir = lockDir();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await refuseSharedLockDir(dir);
  const held: string[] = [];
  const release = async () => {
    await Promise.all(held.splice(0).map((path) => unlink(path).catch(() => undefined)));
  };
  try {
    for (const target of [...targets].sort((a, b) => (a.id < b.id ? -1 : 1))) {
      const path = join(
        dir,
        `${createHash('sha256').update(`${engine}\n${target.id}`).digest('hex').slice(0, 24)}.lock`,
      );
      await acquire(path, target, opts);
      held.push(path);
    }
  } catch (error) {
    await release();
    throw error;
  }
  return release;
}

async function acquire(path: string, target: Target, opts: Parameters<typeof lockTargets>[2]): Promise<void> {
  const mine: Holder = {
    pid: process.pid,
    playbook: opts.playbook,
    container: target.name,
    since: new Date().toISOString(),
  };
  const deadline = Date.now() + opts.waitMs;
  let told = false;
  for (;;) {
    if (await create(path, mine)) return;
    const holder = await readHolder(path);
    if (holder === 'gone') continue;
    if (holder === 'stale' || !alive(holder.pid)) {
      // Its run is gone. Removing and retrying the exclusive create keeps two takers from both winning.
      await unlink(path).catch(() => undefined);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new FirebreakError(
        `${target.name} is being changed by another firebreak (${holder.playbook}, pid ${holder.pid}, since ${holder.since}); ` +
          `waited ${formatDuration(opts.waitMs)}, nothing was changed; run again once it has finished (FIREBREAK_LOCK_WAIT sets the wait)`,
      );
    }
    if (!told) opts.onWait?.(target, holder as Holder);
    told = true;
    await sleep(pollMs, opts.signal);
  }
}

/**
 * The default lock folder may sit in a shared temp folder. A lock that another user can remove
 * (the folder is theirs, or writable by them) keeps nobody out, and one they can plant blocks every
 * run: such a folder is refused, before anything changes, rather than trusted. mkdir made it 0700
 * when it was missing; one that existed keeps its mode, and is refused with the fix.
 */
async function refuseSharedLockDir(dir: string): Promise<void> {
  const info = await stat(dir);
  const uid = process.getuid?.();
  const problem =
    uid !== undefined && info.uid !== uid
      ? `belongs to uid ${info.uid}, not to you (uid ${uid})`
      : info.mode & 0o022
        ? `is writable by ${info.mode & 0o002 ? 'every user' : 'its group'} (mode ${(info.mode & 0o777).toString(8).padStart(4, '0')})`
        : undefined;
  if (!problem) return;
  throw new UsageError(
    `lock folder ${dir} ${problem}: others could remove or plant the locks that keep two firebreaks apart; ` +
      `${info.uid === uid ? `chmod 700 ${dir}, or ` : ''}set FIREBREAK_LOCK_DIR to a folder of your own`,
  );
}

/**
 * Creates the lock file with its holder already in it, or returns false when it exists. Written
 * aside, then hard-linked into place (link fails if the name exists): a lock file is never seen
 * empty, so a run killed the moment it took the lock leaves a lock that names it, stale at once.
 */
async function create(path: string, holder: Holder): Promise<boolean> {
  const aside = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.new`;
  await writeFile(aside, JSON.stringify(holder), { mode: 0o600, flag: 'wx' });
  try {
    await link(aside, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(aside).catch(() => undefined);
  }
}

/** The holder; 'gone' when released meanwhile; 'stale' when unreadable for longer than a write takes. */
async function readHolder(path: string): Promise<Holder | 'gone' | 'stale'> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Holder;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    const age = await stat(path).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    // Unreadable for a moment while its taker writes it: wait like for any live holder.
    return age > 5_000
      ? 'stale'
      : { pid: process.pid, playbook: 'another run that is starting', container: '', since: 'now' };
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
