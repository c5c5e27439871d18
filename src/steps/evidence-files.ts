import { Readable } from 'node:stream';
import tar, { type Pack } from 'tar-stream';
import { z } from 'zod';
import type { FileChange } from '../docker/index.js';
import { EngineError } from '../errors.js';
import { copyArchive, type CopyBudget, type CopyResult, type EntryType, type LeftOutEntry } from './archive-copy.js';
import { formatBytes } from './evidence.js';
import { parsedField } from './inputs.js';
import { parseMemory } from './limits.js';
import { defineStep, type StepContext } from './types.js';

/**
 * What changed in the container's writable layer (diff), and a copy of what was added or
 * changed (files). Together they answer "what did the intruder leave behind" without the whole
 * filesystem, which evidence.export takes later.
 */

export const diffStep = defineStep({
  type: 'evidence.diff',
  description: "Save the list of paths added, changed and deleted in the container's writable layer",
  input: z.object({}).strict(),
  outputs: ['changes', 'added', 'changed', 'deleted'],
  timeout: 60_000,
  mutates: false,
  plan: () => 'save diff.json (paths added, changed, deleted since the container started)',
  async run(ctx) {
    const changes = await ctx.engine.containers.diff(ctx.target.id, ctx.signal);
    await ctx.artifacts.json('diff.json', changes);
    const count = (kind: FileChange['kind']) => changes.filter((c) => c.kind === kind).length;
    const outputs = {
      changes: changes.length,
      added: count('added'),
      changed: count('changed'),
      deleted: count('deleted'),
    };
    return { outputs, note: `${outputs.added} added, ${outputs.changed} changed, ${outputs.deleted} deleted` };
  },
});

/** Kernel and device pseudo-filesystems: what diff shows there is not the container's data. */
const pseudoRoots = ['/proc', '/sys', '/dev'];

const defaultMaxBytes = 256 * 1024 * 1024;

/** In files.tar. */
export interface Collected {
  path: string;
  kind: FileChange['kind'];
  type: EntryType;
  /** Body bytes of this entry alone (0 for a directory or a link). */
  bytes: number;
  /** The added directory whose archive brought it. */
  within?: string;
  /** In the archive but not in diff.json: written after the diff was read. */
  notInDiff?: true;
}

/** Not in files.tar because it did not fit the cap. */
export interface LeftOut {
  path: string;
  kind: FileChange['kind'];
  size: number;
  reason: string;
  within?: string;
  notInDiff?: true;
}

/** Not in files.tar for another reason (deleted, a pseudo-filesystem, a changed directory, gone). */
export interface Skipped {
  path: string;
  kind: FileChange['kind'];
  reason: string;
}

/** files.json: every path of the diff exactly once, in one of the three lists, with what happened to it. */
export interface FilesRecord {
  maxBytes: number;
  collectedBytes: number;
  collected: Collected[];
  leftOut: LeftOut[];
  skipped: Skipped[];
}

export interface Selection {
  wanted: FileChange[];
  skipped: Skipped[];
  /** The diff entries inside each wanted added directory: its archive brings them. */
  within: Map<string, FileChange[]>;
}

/**
 * Which diff entries to fetch. The engine lists a directory whenever something in it changed, so
 * fetching every entry would copy directories whole, and twice. An added directory is fetched once,
 * in one archive: everything in it is new, and its entries are accounted for one by one from that
 * archive. A changed directory is not fetched: its changed entries are listed and fetched on their own.
 */
export function selectFiles(changes: readonly FileChange[]): Selection {
  const sorted = [...changes].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const parents = new Set(sorted.flatMap((c) => ancestors(c.path)));
  const wanted: FileChange[] = [];
  const skipped: Skipped[] = [];
  const within = new Map<string, FileChange[]>();
  for (const change of sorted) {
    const skip = (reason: string) => skipped.push({ ...change, reason });
    const inside = [...within.keys()].find((dir) => change.path.startsWith(`${dir}/`));
    if (change.kind === 'deleted') skip('deleted: nothing left to copy (listed in diff.json)');
    else if (pseudoRoots.some((root) => change.path === root || change.path.startsWith(`${root}/`)))
      skip('kernel or device pseudo-filesystem, not container data');
    else if (inside) within.get(inside)!.push(change);
    else if (change.kind === 'changed' && parents.has(change.path))
      skip('changed directory: its changed entries are collected one by one');
    else {
      wanted.push(change);
      if (change.kind === 'added' && parents.has(change.path)) within.set(change.path, []);
    }
  }
  return { wanted, skipped, within };
}

function ancestors(path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  return parts.slice(0, -1).map((_, i) => `/${parts.slice(0, i + 1).join('/')}`);
}

/** `512k`, `10m`, `1g` or a number of bytes, as --memory reads them. */
export const maxBytesInput = parsedField(parseMemory).transform((value, ctx) => {
  if (value === undefined) return defaultMaxBytes;
  if (value <= 0) {
    ctx.addIssue({ code: 'custom', message: 'the cap must be more than 0 bytes' });
    return z.NEVER;
  }
  return value;
});

export const filesStep = defineStep({
  type: 'evidence.files',
  description:
    'Copy every file the diff shows added or changed into files.tar (archive API); files over the size cap are left out and listed',
  input: z.object({ 'max-bytes': maxBytesInput }).strict(),
  outputs: ['collected', 'left-out', 'skipped', 'bytes', 'max-bytes'],
  timeout: 10 * 60_000,
  mutates: false,
  plan: (input) =>
    `save files.tar (added and changed files; any file over what is left of the ${formatBytes(input['max-bytes'])} cap is left out) and files.json`,
  async run(ctx, input) {
    const maxBytes = input['max-bytes'];
    const selection = selectFiles(await ctx.engine.containers.diff(ctx.target.id, ctx.signal));
    const record: FilesRecord = {
      maxBytes,
      collectedBytes: 0,
      collected: [],
      leftOut: [],
      skipped: [...selection.skipped],
    };
    const budget: CopyBudget = { remaining: maxBytes };
    const pack = tar.pack();
    const filling = fillPack(ctx, pack, selection, budget, record);
    const stored = ctx.artifacts.stream('files.tar', Readable.from(pack as AsyncIterable<Buffer>));
    // Whichever side fails first takes the other down, so neither waits for ever.
    stored.catch((error: Error) => pack.destroy(error));
    // When the bundle refuses files.tar (a full disk), that is the cause to report, not the
    // abort it sends back into the archive reads.
    const [filled, kept] = await Promise.allSettled([filling, stored]);
    if (kept.status === 'rejected') throw kept.reason;
    if (filled.status === 'rejected') throw filled.reason;
    record.collectedBytes = maxBytes - budget.remaining;
    await ctx.artifacts.json('files.json', record);
    const counts = {
      collected: record.collected.length,
      'left-out': record.leftOut.length,
      skipped: record.skipped.length,
    };
    return { outputs: { ...counts, bytes: record.collectedBytes, 'max-bytes': maxBytes }, note: filesNote(record) };
  },
});

/** "12 collected (3.1 MiB), 2 left out over the 1.0 MiB cap, 5 skipped; see files.json". */
export function filesNote(
  record: Pick<FilesRecord, 'maxBytes' | 'collectedBytes'> &
    Record<'collected' | 'leftOut' | 'skipped', { length: number }>,
): string {
  return (
    `${record.collected.length} collected (${formatBytes(record.collectedBytes)}), ` +
    `${record.leftOut.length} left out over the ${formatBytes(record.maxBytes)} cap, ${record.skipped.length} skipped; see files.json`
  );
}

async function fillPack(
  ctx: StepContext,
  pack: Pack,
  selection: Selection,
  budget: CopyBudget,
  record: FilesRecord,
): Promise<void> {
  try {
    for (const change of selection.wanted)
      await collectOne(ctx, pack, change, selection.within.get(change.path) ?? [], budget, record);
    pack.finalize();
  } catch (error) {
    pack.destroy(error as Error);
    throw error;
  }
}

async function collectOne(
  ctx: StepContext,
  pack: Pack,
  change: FileChange,
  inside: FileChange[],
  budget: CopyBudget,
  record: FilesRecord,
): Promise<void> {
  const skip = (reason: string, insideReason = reason) => {
    record.skipped.push({ ...change, reason }, ...inside.map((c) => ({ ...c, reason: insideReason })));
  };
  let fetched;
  try {
    fetched = await ctx.engine.containers.archiveWithStat(ctx.target.id, change.path, ctx.signal);
  } catch (error) {
    // Gone since the diff (a process deleted it meanwhile) is an answer; a gone container is not.
    if (error instanceof EngineError && error.notFound && !/no such container/i.test(error.engineMessage)) {
      return skip(`gone since the diff: ${error.engineMessage}`, `gone since the diff, with ${change.path}`);
    }
    throw error;
  }
  const { stat, stream } = fetched;
  // Only its own metadata changed (a chmod, a timestamp): its contents are the image's.
  if (stat.type === 'directory' && change.kind === 'changed') {
    stream.destroy();
    return skip('changed directory with no changed entries: only its metadata changed');
  }
  if (stat.type === 'file' && stat.size > budget.remaining) {
    // Known from the stat header: no need to download what will not be kept.
    stream.destroy();
    record.leftOut.push({ ...change, size: stat.size, reason: overCap(stat.size, budget.remaining, record.maxBytes) });
    return;
  }
  const parent = change.path.slice(1, change.path.lastIndexOf('/') + 1);
  const copied = await copyArchive(stream, pack, parent, budget);
  account(change, inside, copied, record);
}

/** Turns one archive's entries back into diff paths, so files.json says what happened to each. */
function account(change: FileChange, inside: readonly FileChange[], copied: CopyResult, record: FilesRecord): void {
  const pathOf = (name: string) => `/${name.replace(/\/+$/, '')}`;
  const kept = new Map(copied.copied.map((e) => [pathOf(e.name), e]));
  const left = new Map(copied.leftOut.map((e) => [pathOf(e.name), e]));
  const reasonFor = (e: LeftOutEntry) =>
    e.unsafe
      ? `left out: ${e.unsafe}`
      : e.linkTo
        ? `hard link to ${pathOf(e.linkTo)}, which was left out`
        : overCap(e.size, e.remaining, record.maxBytes);
  for (const c of [change, ...inside]) {
    const via = c === change ? {} : { within: change.path };
    const entry = kept.get(c.path);
    const out = left.get(c.path);
    if (entry) record.collected.push({ ...c, type: entry.type, bytes: entry.size, ...via });
    else if (out) record.leftOut.push({ ...c, size: out.size, reason: reasonFor(out), ...via });
    else record.skipped.push({ ...c, reason: `not in the archive of ${change.path}: gone since the diff` });
    kept.delete(c.path);
    left.delete(c.path);
  }
  // Written between the diff and the archive: in files.tar all the same, so listed too.
  const extra = { kind: 'added' as const, within: change.path, notInDiff: true as const };
  for (const [path, e] of kept) record.collected.push({ path, ...extra, type: e.type, bytes: e.size });
  for (const [path, e] of left) record.leftOut.push({ path, ...extra, size: e.size, reason: reasonFor(e) });
}

function overCap(size: number, remaining: number, maxBytes: number): string {
  return `over the size cap: ${formatBytes(size)}, with ${formatBytes(remaining)} of the ${formatBytes(maxBytes)} max-bytes left; only a filesystem export has it`;
}
