/**
 * `firebreak bundle recover`: turns the debris of a run that never finished (debris.ts) into an
 * `aborted` bundle that verifies, written by the ordinary BundleWriter so its layout, manifests
 * and sidecar are the usual ones.
 *
 * What goes into it is salvage.ts's business; this file picks the debris, refuses a run still in
 * progress, names, verifies and places the bundle, and removes the debris.
 *
 * Nothing is removed before the new bundle is finalised, verified and in place under its own
 * name; then every removed file is listed. The bundle is written in a work folder beside the
 * debris (same file system), because the writer would not take the bundle's own name while its
 * `.partial` is still there, and is linked into place without ever replacing a file.
 */
import { randomBytes } from 'node:crypto';
import { link, lstat, mkdir, rm, stat, unlink } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { UsageError, messageOf } from '../errors.js';
import { BundleWriter } from './bundle.js';
import { createRunMarker, findDebris, removeRunMarker, type DebrisFile, type DebrisGroup } from './debris.js';
import { bagName, bundleFileName } from './naming.js';
import { syncDirectory, writeSidecar } from './output.js';
import { scanPartial, type CutEntry, type PartialScan } from './partial.js';
import { readJournal, type JournalFacts } from './recovered-run.js';
import { salvageInto } from './salvage.js';
import { verifyBundle } from './verify.js';
import { toolVersion } from '../version.js';

export interface RecoverResult {
  /** The file name of the bundle the run was writing. */
  bundle: string;
  dir: string;
  /**
   * recovered: a new bundle holds what was left; finalised: the partial was a whole bundle, now
   * under its name; cleaned: only an earlier recover's work folder was left; in-progress: a live
   * run still writes it, nothing done; failed: nothing removed, see message.
   */
  status: 'recovered' | 'finalised' | 'cleaned' | 'in-progress' | 'failed';
  /** Named on the command line (rather than found in a folder). */
  requested: boolean;
  path?: string;
  sha256?: string;
  size?: number;
  entriesKept: number;
  entriesCutOff: CutEntry[];
  spools: number;
  journal: boolean;
  removed: Array<{ path: string; size: number }>;
  /** Debris left in place, and why. */
  kept: Array<{ path: string; reason: string }>;
  message?: string;
}

/** Recovers the debris named by `paths` (folders or debris files), or all of `evidenceDir`'s when none are named. */
export async function recoverDebris(paths: readonly string[], evidenceDir: string): Promise<RecoverResult[]> {
  const results: RecoverResult[] = [];
  for (const { group, requested } of await selectGroups(paths, evidenceDir)) {
    const result = emptyResult(group, requested);
    if (group.inProgress) results.push({ ...result, status: 'in-progress', message: group.inProgress });
    else results.push(await recoverGroup(group, result));
  }
  return results;
}

function emptyResult(group: DebrisGroup, requested: boolean): RecoverResult {
  return {
    bundle: group.bundle,
    dir: group.dir,
    status: 'failed',
    requested,
    entriesKept: 0,
    entriesCutOff: [],
    spools: 0,
    journal: false,
    removed: [],
    kept: [],
  };
}

async function selectGroups(
  paths: readonly string[],
  evidenceDir: string,
): Promise<Array<{ group: DebrisGroup; requested: boolean }>> {
  if (paths.length === 0) return (await groupsIn(evidenceDir)).map((group) => ({ group, requested: false }));
  const chosen = new Map<string, { group: DebrisGroup; requested: boolean }>();
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (!info) throw new UsageError(`${path} does not exist`);
    if (info.isDirectory() && !basename(path).startsWith('.')) {
      for (const group of await groupsIn(path))
        chosen.set(resolve(group.dir, group.bundle), { group, requested: false });
      continue;
    }
    const group = (await findDebris(resolve(path, '..'))).find((g) =>
      g.files.some((f) => resolve(f.path) === resolve(path)),
    );
    if (!group || group.files.find((f) => resolve(f.path) === resolve(path))?.kind === 'marker') {
      throw new UsageError(
        `${path} is not debris of a firebreak run: give an evidence folder, a <bundle>.tar.gz.partial (or .tar.partial), or its hidden .<bundle>.journal or .<bundle>.spool-* file`,
      );
    }
    chosen.set(resolve(group.dir, group.bundle), { group, requested: true });
  }
  return [...chosen.values()];
}

async function groupsIn(dir: string): Promise<DebrisGroup[]> {
  const info = await stat(dir).catch(() => undefined);
  if (!info)
    throw new UsageError(
      `evidence folder ${dir} does not exist; name it with --evidence-dir or FIREBREAK_EVIDENCE_DIR`,
    );
  if (!info.isDirectory()) throw new UsageError(`evidence folder ${dir} is not a folder`);
  return findDebris(dir);
}

async function recoverGroup(group: DebrisGroup, result: RecoverResult): Promise<RecoverResult> {
  const bundlePath = join(group.dir, group.bundle);
  try {
    // Our own marker: a second recover of the same debris now sees a live writer and keeps off.
    await createRunMarker(bundlePath);
  } catch (error) {
    return { ...result, status: 'in-progress', message: messageOf(error) };
  }
  const oldMarker = group.files.find((f) => f.kind === 'marker');
  if (oldMarker) result.removed.push({ path: oldMarker.path, size: oldMarker.size });
  try {
    if (group.files.every((f) => f.kind === 'recovery' || f.kind === 'marker')) {
      result.status = 'cleaned';
      result.message = 'only the work folder of an earlier recover was left: the debris it was made from is gone';
    } else {
      await saveGroup(group, result);
    }
    await removeDebris(group, result);
  } catch (error) {
    result.status = 'failed';
    result.message = messageOf(error);
  } finally {
    await removeRunMarker(bundlePath);
  }
  return result;
}

/** Writes, verifies and places the bundle; sets status, path and counts. */
async function saveGroup(group: DebrisGroup, result: RecoverResult): Promise<void> {
  const named = parseBundleName(group.bundle);
  if (!named) throw new Error(`${group.bundle} is not a bundle name firebreak writes`);
  const partial = group.files.find((f) => f.kind === 'partial');
  const scan = partial ? await scanPartial(partial.path) : undefined;
  if (partial && scan && (await finishWholePartial(group, partial, scan, result))) return;
  const journal = group.files.find((f) => f.kind === 'journal');
  const facts = journal ? await readJournal(journal.path) : undefined;
  const target = await freeBundleName(group, named);
  const work = join(group.dir, `.${group.bundle}.recover-${randomBytes(6).toString('hex')}`);
  await mkdir(work, { mode: 0o700 });
  try {
    const writer = await BundleWriter.open({
      dir: work,
      playbook: named.playbook,
      incident: target.incident,
      compression: named.compression,
      startedAt: named.startedAt,
      bagInfo: recoveredBagInfo(group, facts),
    });
    let finished;
    try {
      Object.assign(result, await salvageInto(writer, { group, named, partial, scan, journal, facts }));
      finished = await writer.finalize();
    } catch (error) {
      await writer.discard().catch(() => undefined);
      throw error;
    }
    const report = await verifyBundle(finished.path);
    if (!report.ok)
      throw new Error(`the recovered bundle did not verify, so nothing was removed: ${report.problems.join('; ')}`);
    await placeBundle(finished.path, target.path);
    Object.assign(result, { status: 'recovered', path: target.path, sha256: finished.sha256, size: finished.size });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * A run that died between writing its last tag file and renaming left a whole bundle: when it
 * verifies and its name is free, it only needs its name and sidecar, and keeps its own run.json.
 */
async function finishWholePartial(
  group: DebrisGroup,
  partial: DebrisFile,
  scan: PartialScan,
  result: RecoverResult,
): Promise<boolean> {
  if (group.files.some((f) => f.kind === 'journal' || f.kind === 'spool') || scan.cutOff || scan.stopped) return false;
  const rels = new Set(scan.entries.map((e) => e.name.slice(e.name.indexOf('/') + 1)));
  if (!rels.has('manifest-sha256.txt') || !rels.has('tagmanifest-sha256.txt')) return false;
  const path = join(group.dir, group.bundle);
  if (await exists(path)) return false;
  const report = await verifyBundle(partial.path);
  if (!report.ok) return false;
  await link(partial.path, path);
  await syncDirectory(group.dir);
  await writeSidecar(path, report.sidecar.actual);
  Object.assign(result, {
    status: 'finalised',
    path,
    sha256: report.sidecar.actual,
    size: partial.size,
    entriesKept: scan.entries.length,
  });
  return true;
}

/** Links the finished bundle and its sidecar into the evidence folder; never replaces a file. */
async function placeBundle(from: string, to: string): Promise<void> {
  await link(from, to);
  try {
    await link(`${from}.sha256`, `${to}.sha256`);
  } catch (error) {
    await unlink(to);
    throw error;
  }
  await syncDirectory(resolve(to, '..'));
}

/** The bundle's own name when it is free (its `.partial` aside), else a numbered one as freeBundlePath makes. */
async function freeBundleName(
  group: DebrisGroup,
  named: NonNullable<ReturnType<typeof parseBundleName>>,
): Promise<{ path: string; incident: string }> {
  for (let n = 1; n <= 100; n++) {
    const incident = n === 1 ? named.incident : `${named.incident}-${n}`;
    const file = bundleFileName(named.startedAt, named.playbook, incident, named.compression);
    const path = join(group.dir, file);
    const partialTaken = file !== group.bundle && (await exists(`${path}.partial`));
    if (!partialTaken && !(await exists(path)) && !(await exists(`${path}.sha256`))) return { path, incident };
  }
  throw new Error(`no free name for the recovered bundle of ${group.bundle} in ${group.dir}`);
}

function recoveredBagInfo(group: DebrisGroup, facts: JournalFacts | undefined): Record<string, string> {
  const info: Record<string, string> = {};
  const incident = facts?.incident ?? parseBundleName(group.bundle)?.incident;
  if (incident) info['External-Identifier'] = incident;
  info['Bag-Software-Agent'] = `firebreak ${toolVersion}`;
  if (facts?.operator) info['Contact-Name'] = `${facts.operator.user}@${facts.operator.host}`;
  info['Internal-Sender-Description'] =
    `recovered by firebreak bundle recover from the debris of a run that did not finish (${group.bundle})`;
  return info;
}

/**
 * Removes the debris the bundle was made from, each file only if it is as it was when read.
 * Runs only after the bundle is in place.
 */
async function removeDebris(group: DebrisGroup, result: RecoverResult): Promise<void> {
  const order = ['spool', 'journal', 'partial', 'recovery'];
  const files = group.files
    .filter((f) => order.includes(f.kind))
    .sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
  for (const file of files) {
    const now = await lstat(file.path).catch(() => undefined);
    if (!now) continue;
    if (file.kind !== 'recovery' && (now.size !== file.size || now.mtime.getTime() !== file.mtime.getTime())) {
      result.kept.push({ path: file.path, reason: 'it changed while it was being recovered' });
      continue;
    }
    await rm(file.path, { recursive: file.kind === 'recovery', force: true });
    result.removed.push({ path: file.path, size: file.size });
  }
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/** `<YYYYMMDDTHHMMSSZ>_<playbook>_<incident>.tar[.gz]` back into the parts naming.ts built it from. */
export function parseBundleName(
  file: string,
): { startedAt: Date; playbook: string; incident: string; compression: 'gzip' | 'none' } | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z_(.+)\.(tar\.gz|tar)$/.exec(file);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, rest] = match;
  const startedAt = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}Z`);
  if (Number.isNaN(startedAt.getTime())) return undefined;
  const bag = file.slice(0, file.length - match[8]!.length - 1);
  // Playbook and incident may both hold '_': take the split that names the same bag.
  for (let at = rest!.indexOf('_'); at > 0; at = rest!.indexOf('_', at + 1)) {
    const playbook = rest!.slice(0, at);
    const incident = rest!.slice(at + 1);
    if (incident !== '' && bagName(startedAt, playbook, incident) === bag) {
      return { startedAt, playbook, incident, compression: match[8] === 'tar' ? 'none' : 'gzip' };
    }
  }
  return undefined;
}
