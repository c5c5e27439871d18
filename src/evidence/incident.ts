/**
 * The bundles of one incident, from the evidence folder and the fallback folder a full disk sent
 * bundles to: each verified, its run record read, oldest run first. What the runs did and what is
 * left to undo is read from them by pending.ts; the engine adds each container's state now.
 */
import { basename } from 'node:path';
import { messageOf } from '../errors.js';
import { safeNamePart } from './naming.js';
import { readRunRecord } from './reader.js';
import { runRecordSchemaId, type RunRecord } from './record.js';
import { fallbackEvidenceDir } from './store.js';
import { bundlesNewestFirst } from './undo.js';
import { verifyBundle } from './verify.js';

export interface IncidentBundle {
  bundle: string;
  /** Absent when run.json could not be read; `problems` says why. */
  record?: RunRecord;
  verified: boolean;
  problems: string[];
}

/** The folders searched, in order: the evidence folder, then the fallback folder. */
export function incidentFolders(evidenceDir: string): string[] {
  return [...new Set([evidenceDir, fallbackEvidenceDir()])];
}

/**
 * Every bundle whose name ends in the incident and whose run.json says so, oldest first. A bundle
 * is found by name first (reading every bundle of a folder through would cost minutes with
 * filesystem exports in it), then kept only if its record names the incident: a name is not proof.
 */
export async function incidentBundles(incident: string, evidenceDir: string): Promise<IncidentBundle[]> {
  const suffix = new RegExp(`_${escapeRegExp(safeNamePart(incident))}\\.tar(\\.gz)?$`);
  const paths = (await bundlesNewestFirst(incidentFolders(evidenceDir), Infinity))
    .filter((path) => suffix.test(basename(path)))
    .reverse();
  const found: IncidentBundle[] = [];
  for (const bundle of paths) {
    const checked = await verifyBundle(bundle).catch((error: unknown) => ({ ok: false, problems: [messageOf(error)] }));
    const read = await readRunRecord(bundle).then(
      (record) => ({ record: record as RunRecord }),
      (error: unknown) => ({ problem: messageOf(error) }),
    );
    const record = 'record' in read && read.record?.schema === runRecordSchemaId ? read.record : undefined;
    if (record && record.incident !== incident) continue;
    const problems = [...checked.problems, ...('problem' in read ? [read.problem] : [])];
    if (!record && 'record' in read) problems.push(`data/run.json is not a ${runRecordSchemaId} run record`);
    found.push({ bundle, ...(record ? { record } : {}), verified: checked.ok, problems });
  }
  // By the runs' own start times: two runs in one second share a name prefix.
  return found.sort((a, b) => (a.record?.startedAt ?? '').localeCompare(b.record?.startedAt ?? ''));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
