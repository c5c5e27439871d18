import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError, messageOf } from '../errors.js';
import { readRunRecord } from './reader.js';
import { flattenSteps, type RunRecord, type StepRecord } from './record.js';
import { fallbackEvidenceDir } from './store.js';

export interface UndoRecord<T> {
  bundle: string;
  runId: string;
  incident: string;
  /** The step's status: a step interrupted or failed midway records what it had changed by then. */
  status: string;
  undo: T;
}

/**
 * Bundles that export whole filesystems can be gigabytes; run.json sits at the end of the tar,
 * so the automatic search skips such bundles rather than read them through. --from still reads any.
 */
const searchSizeLimit = 256 * 1024 * 1024;

/**
 * Whether a step's undo data records a change. A second isolate of an isolated container records
 * "no networks"; restoring from that would leave the container cut off while saying it succeeded.
 */
const recordsChange: Record<string, (undo: any) => boolean> = {
  'network.disconnect': (undo) => Array.isArray(undo?.attachments) && undo.attachments.length > 0,
  'container.update': (undo) => Boolean(undo?.previous) && Object.keys(undo.previous).length > 0,
};

/**
 * Find the undo data a step of type `uses` recorded for a container: in the given bundle, or in
 * the newest bundle that records a change, in the evidence folder or the fallback folder a full
 * disk sent bundles to. A step that failed or was interrupted midway counts: what it changed
 * before it stopped is recorded, and must be undoable.
 */
export async function findUndoRecord<T>(query: {
  evidenceDir: string;
  bundle?: string;
  containerId: string;
  /** The engine's ID (GET /info): a record made on another engine never counts, whatever its ids. */
  engineId?: string;
  uses: string;
}): Promise<UndoRecord<T>> {
  const candidates = query.bundle
    ? [query.bundle]
    : await bundlesNewestFirst([query.evidenceDir, fallbackEvidenceDir()]);
  const changed = recordsChange[query.uses] ?? (() => true);
  for (const bundle of candidates) {
    const record = (await readRunRecord(bundle).catch((error: Error) => {
      if (query.bundle) throw new UsageError(`--from ${bundle}: ${messageOf(error)}`);
      return undefined;
    })) as RunRecord | undefined;
    const target = sameEngine(record, query.engineId)
      ? record?.targets?.find((t) => t.id === query.containerId)
      : undefined;
    const step =
      target &&
      [...flattenSteps(target.steps)]
        .reverse()
        .find((s) => s.uses === query.uses && s.undo !== undefined && changed(s.undo));
    if (record && step)
      return { bundle, runId: record.runId, incident: record.incident, status: step.status, undo: step.undo as T };
  }
  const where = query.bundle ?? `the bundles in ${query.evidenceDir}`;
  throw new UsageError(
    `no ${query.uses} record that changed container ${query.containerId.slice(0, 12)} in ${where}; pass --from BUNDLE or --evidence-dir`,
  );
}

/**
 * The newest step of type `uses` that changed the container, whatever it recorded (a revert
 * records no undo data but is still the last word on the container's state); undefined if none.
 */
export async function findNewestChange(query: {
  evidenceDir: string;
  containerId: string;
  engineId?: string;
  uses: string;
}): Promise<StepRecord | undefined> {
  for (const bundle of await bundlesNewestFirst([query.evidenceDir, fallbackEvidenceDir()])) {
    const record = (await readRunRecord(bundle).catch(() => undefined)) as RunRecord | undefined;
    const target = sameEngine(record, query.engineId)
      ? record?.targets?.find((t) => t.id === query.containerId)
      : undefined;
    const steps = target ? flattenSteps(target.steps) : [];
    const step = [...steps]
      .reverse()
      .find((s) => s.uses === query.uses && s.status === 'succeeded' && s.changed !== false);
    if (step) return step;
  }
  return undefined;
}

/**
 * Whether a record was made on the engine asked about. Records from before engine IDs were
 * recorded match on the container's id alone (64 random hex digits: unique in practice).
 */
function sameEngine(record: RunRecord | undefined, engineId: string | undefined): boolean {
  const recorded = record?.engine?.id;
  return engineId === undefined || recorded === undefined || recorded === engineId;
}

/**
 * Bundles of several folders, newest first by their timestamped names; those over `sizeLimit`
 * are left out (the automatic search's limit unless told otherwise).
 */
export async function bundlesNewestFirst(dirs: readonly string[], sizeLimit = searchSizeLimit): Promise<string[]> {
  const found: Array<{ name: string; path: string }> = [];
  for (const dir of new Set(dirs)) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names.filter((n) => /^\d{8}T\d{6}Z_.*\.tar(\.gz)?$/.test(n))) {
      const path = join(dir, name);
      const size = await stat(path).then(
        (s) => s.size,
        () => Infinity,
      );
      if (size <= sizeLimit) found.push({ name, path });
    }
  }
  return found.sort((a, b) => (a.name < b.name ? 1 : a.name > b.name ? -1 : 0)).map((f) => f.path);
}
