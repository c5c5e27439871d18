import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { readRunRecord } from './reader.js';
import { flattenSteps, type RunRecord } from './record.js';

export interface UndoRecord<T> {
  bundle: string;
  runId: string;
  undo: T;
}

/**
 * Bundles that export whole filesystems can be gigabytes; run.json sits at the end of the tar,
 * so the automatic search skips such bundles rather than read them through. --from still reads any.
 */
const searchSizeLimit = 256 * 1024 * 1024;

/**
 * Find the undo data a step of type `uses` recorded for a container: in the given bundle, or in
 * the newest bundle of the evidence folder that has one.
 */
export async function findUndoRecord<T>(query: {
  evidenceDir: string;
  bundle?: string;
  containerId: string;
  uses: string;
}): Promise<UndoRecord<T>> {
  const candidates = query.bundle ? [query.bundle] : await bundlesNewestFirst(query.evidenceDir);
  for (const bundle of candidates) {
    const record = (await readRunRecord(bundle).catch((error: Error) => {
      if (query.bundle) throw new UsageError(`--from ${bundle}: ${error.message}`);
      return undefined;
    })) as RunRecord | undefined;
    const target = record?.targets?.find((t) => t.id === query.containerId);
    const step = target && flattenSteps(target.steps).find((s) => s.uses === query.uses && s.status === 'succeeded' && s.undo);
    if (record && step) return { bundle, runId: record.runId, undo: step.undo as T };
  }
  const where = query.bundle ?? `the bundles in ${query.evidenceDir}`;
  throw new UsageError(
    `no ${query.uses} record for container ${query.containerId.slice(0, 12)} in ${where}; pass --from BUNDLE or --evidence-dir`,
  );
}

async function bundlesNewestFirst(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const bundles = names.filter((n) => /^\d{8}T\d{6}Z_.*\.tar(\.gz)?$/.test(n)).sort().reverse();
  const small: string[] = [];
  for (const name of bundles) {
    const path = join(dir, name);
    if ((await stat(path)).size <= searchSizeLimit) small.push(path);
  }
  return small;
}
