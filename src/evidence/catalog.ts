/**
 * The bundles of an evidence folder, each with what its run.json says (time, playbook, incident,
 * targets, status) and whether it verifies: what `bundle list` shows.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { messageOf } from '../errors.js';
import { readRunRecord } from './reader.js';
import type { RunRecord } from './record.js';
import { checkSignature } from './sign.js';
import { verifyBundle } from './verify.js';

export interface CatalogEntry {
  path: string;
  startedAt?: string;
  playbook?: string;
  incident?: string;
  targets: string[];
  /** The run's own status, or `failed` when run.json cannot be read. */
  status: string;
  verified: boolean;
  /** Whether a `<bundle>.sig` lies beside it (checked against the bundle, not against signers). */
  signed: boolean;
  problem?: string;
}

const BUNDLE_NAME = /^\d{8}T\d{6}Z_.*\.tar(\.gz)?$/;

/** Oldest first, by the timestamp every bundle name starts with. */
export async function listBundleFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  return names
    .filter((name) => BUNDLE_NAME.test(name))
    .sort()
    .map((name) => join(dir, name));
}

export async function describeBundle(path: string): Promise<CatalogEntry> {
  const [record, report, signature] = await Promise.all([
    readRunRecord(path).then(
      (r) => ({ record: r as Partial<RunRecord> }),
      (error: unknown) => ({ error: messageOf(error) }),
    ),
    verifyBundle(path),
    checkSignature(path).catch((error: unknown) => ({ present: true, ok: false, problem: messageOf(error) })),
  ]);
  const run = 'record' in record ? record.record : undefined;
  const problem =
    'error' in record ? record.error : (report.problems[0] ?? (signature.ok ? undefined : signature.problem));
  return {
    path,
    ...(run?.startedAt ? { startedAt: run.startedAt } : {}),
    ...(run?.playbook?.name ? { playbook: run.playbook.name } : {}),
    ...(run?.incident ? { incident: run.incident } : {}),
    targets: (run?.targets ?? []).map((t) => t.name),
    status: typeof run?.status === 'string' ? run.status : 'failed',
    verified: report.ok && signature.ok,
    signed: signature.present,
    ...(problem ? { problem } : {}),
  };
}
