import { Readable } from 'node:stream';
import tar, { type Pack } from 'tar-stream';
import { z } from 'zod';
import type { FileChange } from '../docker/index.js';
import { EngineError } from '../errors.js';
import { copyArchive, type CopyBudget } from './archive-copy.js';
import { formatBytes } from './evidence.js';
import { defineStep, type StepContext } from './types.js';

/**
 * What changed in the container's writable layer (diff), and a copy of what was added or
 * changed (files). Together they answer "what did the intruder leave behind" without the whole
 * filesystem, which evidence.export takes later.
 */

export const diffStep = defineStep({
  type: 'evidence.diff',
  description: 'Save the list of paths added, changed and deleted in the container\'s writable layer',
  input: z.object({}).strict(),
  outputs: ['changes', 'added', 'changed', 'deleted'],
  timeout: 60_000,
  mutates: false,
  plan: () => 'save diff.json (paths added, changed, deleted since the container started)',
  async run(ctx) {
    const changes = await ctx.engine.containers.diff(ctx.target.id, ctx.signal);
    await ctx.artifacts.json('diff.json', changes);
    const count = (kind: FileChange['kind']) => changes.filter((c) => c.kind === kind).length;
    const outputs = { changes: changes.length, added: count('added'), changed: count('changed'), deleted: count('deleted') };
    return { outputs, note: `${outputs.added} added, ${outputs.changed} changed, ${outputs.deleted} deleted` };
  },
});

/** Kernel and device pseudo-filesystems: what diff shows there is not the container's data. */
const pseudoRoots = ['/proc', '/sys', '/dev'];

const defaultMaxBytes = 256 * 1024 * 1024;

export interface Skipped {
  path: string;
  kind: FileChange['kind'];
  reason: string;
}

export interface Collected {
  path: string;
  kind: FileChange['kind'];
  type: 'file' | 'directory' | 'symlink' | 'other';
  entries: number;
  bytes: number;
  /** Set when the size cap cut a directory short. */
  incomplete?: string;
}

/**
 * Which diff entries to fetch. The engine lists a directory whenever something in it changed, so
 * fetching every entry would copy directories whole, and twice. An added directory is fetched once,
 * whole: everything in it is new and comes with it. A changed directory is not fetched: its changed
 * entries are listed and fetched on their own.
 */
export function selectFiles(changes: readonly FileChange[]): { wanted: FileChange[]; skipped: Skipped[] } {
  const sorted = [...changes].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const parents = new Set(sorted.flatMap((c) => ancestors(c.path)));
  const wanted: FileChange[] = [];
  const skipped: Skipped[] = [];
  const addedDirs: string[] = [];
  for (const change of sorted) {
    const skip = (reason: string) => skipped.push({ ...change, reason });
    const inside = addedDirs.find((dir) => change.path.startsWith(`${dir}/`));
    if (change.kind === 'deleted') skip('deleted: nothing left to copy (listed in diff.json)');
    else if (pseudoRoots.some((root) => change.path === root || change.path.startsWith(`${root}/`))) skip('kernel or device pseudo-filesystem, not container data');
    else if (inside) skip(`inside the added directory ${inside}, collected with it`);
    else if (change.kind === 'changed' && parents.has(change.path)) skip('changed directory: its changed entries are collected one by one');
    else {
      wanted.push(change);
      if (change.kind === 'added' && parents.has(change.path)) addedDirs.push(change.path);
    }
  }
  return { wanted, skipped };
}

function ancestors(path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  return parts.slice(0, -1).map((_, i) => `/${parts.slice(0, i + 1).join('/')}`);
}

export const filesStep = defineStep({
  type: 'evidence.files',
  description: 'Copy every file the diff shows added or changed into files.tar (archive API), within a size cap',
  input: z
    .object({
      'max-bytes': z.preprocess(
        (v) => (v === '' || v === undefined ? defaultMaxBytes : typeof v === 'string' ? Number(v) : v),
        z.number().int().positive(),
      ),
    })
    .strict(),
  outputs: ['collected', 'skipped', 'bytes'],
  timeout: 10 * 60_000,
  mutates: false,
  plan: (input) => `save files.tar (added and changed files, up to ${formatBytes(input['max-bytes'])}) and files.json`,
  async run(ctx, input) {
    const maxBytes = input['max-bytes'];
    const { wanted, skipped } = selectFiles(await ctx.engine.containers.diff(ctx.target.id, ctx.signal));
    const collected: Collected[] = [];
    const budget: CopyBudget = { remaining: maxBytes };
    const pack = tar.pack();
    const filling = fillPack(ctx, pack, wanted, budget, collected, skipped);
    const stored = ctx.artifacts.stream('files.tar', Readable.from(pack as AsyncIterable<Buffer>));
    // Whichever side fails first takes the other down, so neither waits for ever.
    stored.catch((error: Error) => pack.destroy(error));
    await Promise.all([filling, stored]);
    const bytes = maxBytes - budget.remaining;
    await ctx.artifacts.json('files.json', { maxBytes, collectedBytes: bytes, collected, skipped });
    return {
      outputs: { collected: collected.length, skipped: skipped.length, bytes },
      note: `${collected.length} collected (${formatBytes(bytes)}), ${skipped.length} skipped; see files.json`,
    };
  },
});

async function fillPack(ctx: StepContext, pack: Pack, wanted: FileChange[], budget: CopyBudget, collected: Collected[], skipped: Skipped[]): Promise<void> {
  try {
    for (const change of wanted) {
      const outcome = await collectOne(ctx, pack, change, budget);
      if ('reason' in outcome) skipped.push(outcome);
      else collected.push(outcome);
    }
    pack.finalize();
  } catch (error) {
    pack.destroy(error as Error);
    throw error;
  }
}

async function collectOne(ctx: StepContext, pack: Pack, change: FileChange, budget: CopyBudget): Promise<Collected | Skipped> {
  let fetched;
  try {
    fetched = await ctx.engine.containers.archiveWithStat(ctx.target.id, change.path, ctx.signal);
  } catch (error) {
    // Gone since the diff (a process deleted it meanwhile) is an answer; a gone container is not.
    if (error instanceof EngineError && error.notFound && !/no such container/i.test(error.engineMessage)) {
      return { ...change, reason: `gone since the diff: ${error.engineMessage}` };
    }
    throw error;
  }
  const { stat, stream } = fetched;
  const { type } = stat;
  const leave = (reason: string): Skipped => {
    stream.destroy();
    return { ...change, reason };
  };
  // Only its own metadata changed (a chmod, a timestamp): its contents are the image's.
  if (type === 'directory' && change.kind === 'changed') return leave('changed directory with no changed entries: only its metadata changed');
  if (type === 'file' && stat.size > budget.remaining) {
    return leave(`over the size cap: ${formatBytes(stat.size)}, ${formatBytes(budget.remaining)} of max-bytes left (filesystem.tar has it)`);
  }
  const parent = change.path.slice(1, change.path.lastIndexOf('/') + 1);
  const copied = await copyArchive(stream, pack, parent, budget);
  if (copied.stoppedAt && copied.entries === 0) {
    return { ...change, reason: `over the size cap at ${copied.stoppedAt.name} (${formatBytes(copied.stoppedAt.size)}); filesystem.tar has it` };
  }
  const result: Collected = { ...change, type, entries: copied.entries, bytes: copied.bytes };
  if (copied.stoppedAt) {
    // Recorded on the entry itself: the directory is in files.tar, but not all of it.
    result.incomplete = `stopped at ${copied.stoppedAt.name} (${formatBytes(copied.stoppedAt.size)}): over the size cap; the rest of it is not in files.tar`;
  }
  return result;
}
