/**
 * `firebreak bundle recover`: turns the debris of a run that never finished (debris.ts) into an
 * `aborted` bundle that verifies, written by the ordinary BundleWriter so its layout, manifests
 * and sidecar are the usual ones.
 *
 * Into it go the whole entries of the `.partial` (re-hashed as they are copied; a cut-off entry
 * is left out and listed), each spool file under `data/recovered/spool-<hex>` (its artifact path
 * was never recorded), the journal as `data/journal.ndjson`, and a run.json rebuilt from them.
 *
 * Nothing is removed before the new bundle is finalised, verified and in place under its own
 * name; then every removed file is listed. The bundle is written in a work folder beside the
 * debris (same file system), because the writer would not take the bundle's own name while its
 * `.partial` is still there, and is linked into place without ever replacing a file.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, lstat, mkdir, rm, stat, unlink } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { UsageError, messageOf } from '../errors.js';
import { BundleWriter } from './bundle.js';
import { createRunMarker, findDebris, removeRunMarker, type DebrisFile, type DebrisGroup } from './debris.js';
import { bagName, bundleFileName } from './naming.js';
import { syncDirectory, writeSidecar } from './output.js';
import { readPartialEntries, scanPartial, type CutEntry, type PartialScan } from './partial.js';
import { artifactDoubts, readJournal, recoveredRunRecord, type JournalFacts, type RecoveryNote } from './recovered-run.js';
import type { RunRecord } from './record.js';
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
  return { bundle: group.bundle, dir: group.dir, status: 'failed', requested, entriesKept: 0, entriesCutOff: [], spools: 0, journal: false, removed: [], kept: [] };
}

async function selectGroups(paths: readonly string[], evidenceDir: string): Promise<Array<{ group: DebrisGroup; requested: boolean }>> {
  if (paths.length === 0) return (await groupsIn(evidenceDir)).map((group) => ({ group, requested: false }));
  const chosen = new Map<string, { group: DebrisGroup; requested: boolean }>();
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (!info) throw new UsageError(`${path} does not exist`);
    if (info.isDirectory() && !basename(path).startsWith('.')) {
      for (const group of await groupsIn(path)) chosen.set(resolve(group.dir, group.bundle), { group, requested: false });
      continue;
    }
    const group = (await findDebris(resolve(path, '..'))).find((g) => g.files.some((f) => resolve(f.path) === resolve(path)));
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
  if (!info) throw new UsageError(`evidence folder ${dir} does not exist; name it with --evidence-dir or FIREBREAK_EVIDENCE_DIR`);
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
      await copyInto(writer, { group, named, partial, scan, journal, facts }, result);
      finished = await writer.finalize();
    } catch (error) {
      await writer.discard().catch(() => undefined);
      throw error;
    }
    const report = await verifyBundle(finished.path);
    if (!report.ok) throw new Error(`the recovered bundle did not verify, so nothing was removed: ${report.problems.join('; ')}`);
    await placeBundle(finished.path, target.path);
    Object.assign(result, { status: 'recovered', path: target.path, sha256: finished.sha256, size: finished.size });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

interface Sources {
  group: DebrisGroup;
  named: NonNullable<ReturnType<typeof parseBundleName>>;
  partial?: DebrisFile;
  scan?: PartialScan;
  journal?: DebrisFile;
  facts?: JournalFacts;
}

const SPOOL_NOTE = 'spooled when the run stopped: the stream may have been cut off there, and which artifact it was is not recorded';
// Entries up to this size are read whole, to look inside the few we parse (run.json, inspect.json).
const SMALL_ENTRY = 1024 * 1024;

async function copyInto(writer: BundleWriter, sources: Sources, result: RecoverResult): Promise<void> {
  const { group, partial, scan, journal, facts } = sources;
  const note: RecoveryNote = {
    from: group.files.filter((f) => f.kind !== 'marker' && f.kind !== 'recovery').map((f) => f.name),
    at: new Date().toISOString(),
    entriesKept: 0,
    entriesCutOff: scan?.cutOff ? [scan.cutOff] : [],
    notCopied: [],
    spools: [],
    note: 'hashes were taken while this bundle was written from the debris: the run that died never wrote its manifest',
  };
  const found = partial && scan ? await copyPartial(writer, partial.path, scan, note) : { inspects: new Map(), original: undefined, cutOff: new Map<string, CutEntry>() };
  for (const spool of group.files.filter((f) => f.kind === 'spool')) {
    const path = `recovered/spool-${spool.name.slice(spool.name.lastIndexOf('.spool-') + 7)}`;
    await writer.addStream(path, createReadStream(spool.path), { size: spool.size });
    note.spools.push({ file: spool.name, path: `data/${path}`, size: spool.size });
  }
  if (journal && facts) {
    const taken = writer.artifacts().some((a) => a.path === 'journal.ndjson');
    const path = taken ? 'recovered/journal.ndjson' : 'journal.ndjson';
    await writer.addStream(path, createReadStream(journal.path), { size: journal.size });
    note.journal = { file: journal.name, path: `data/${path}`, lines: facts.lines, unreadableLines: facts.unreadableLines };
  }
  const spooled = new Set(note.spools.map((s) => s.path.slice('data/'.length)));
  const doubts = artifactDoubts(facts, writer.artifacts());
  for (const artifact of Array.isArray(found.original?.artifacts) ? found.original.artifacts : []) {
    if (artifact?.incomplete) doubts.set(artifact.path, artifact.incomplete);
  }
  for (const [path, cut] of found.cutOff) {
    const meant = cut.name ? `it was meant to be ${cut.name.slice(cut.name.indexOf('/') + 1)}` : 'its name is unknown';
    const of = cut.size === undefined ? '' : ` of ${cut.size}`;
    doubts.set(path, `cut off by the hard exit: the first ${cut.present}${of} bytes; ${meant}`);
  }
  const artifacts = writer.artifacts().map(({ path, size, sha256, incomplete }) => {
    const why = incomplete ?? (spooled.has(path) ? SPOOL_NOTE : doubts.get(path));
    return { path, size, sha256, ...(why ? { incomplete: why } : {}) };
  });
  const newest = group.files.reduce((at, f) => (f.mtime > at ? f.mtime : at), new Date(0));
  const record = recoveredRunRecord({ named: sources.named, facts, original: found.original, inspects: found.inspects, artifacts, lastActivity: newest, recovered: note });
  await writer.addFile('run.json', `${JSON.stringify(record, null, 2)}\n`);
  Object.assign(result, { entriesKept: note.entriesKept, entriesCutOff: note.entriesCutOff, spools: note.spools.length, journal: note.journal !== undefined });
}

/** Copies the partial's whole `data/` entries; returns the inspect facts and any whole run.json met on the way. */
async function copyPartial(
  writer: BundleWriter,
  path: string,
  scan: PartialScan,
  note: RecoveryNote,
): Promise<{ inspects: Map<string, { id?: string; image?: string }>; original?: Partial<RunRecord>; cutOff: Map<string, CutEntry> }> {
  const inspects = new Map<string, { id?: string; image?: string }>();
  const cutOff = new Map<string, CutEntry>();
  let original: Partial<RunRecord> | undefined;
  await readPartialEntries(path, scan, async (entry, body) => {
    const rel = entry.name.slice(entry.name.indexOf('/') + 1);
    const isFile = entry.type === '0' || entry.type === '\0' || entry.type === '7';
    if (!isFile || !rel.startsWith('data/') || entry.name.indexOf('/') < 1) {
      if (isFile || entry.type !== '5') note.notCopied.push(entry.name);
      return;
    }
    let dataRel = rel.slice('data/'.length);
    if (entry.size > SMALL_ENTRY) {
      await writer.addStream(dataRel, Readable.from(body), { size: entry.size });
    } else {
      const bytes = await readAll(body);
      if (dataRel === 'run.json') {
        original = parseJson(bytes) as Partial<RunRecord> | undefined;
        dataRel = 'recovered/run.json';
      }
      const inspect = /^targets\/([^/]+)\/inspect\.json$/.exec(dataRel);
      if (inspect) rememberInspect(inspects, inspect[1]!, parseJson(bytes));
      await writer.addFile(dataRel, bytes);
    }
    note.entriesKept++;
  }, async (cut, body) => {
    // The bytes that made it, kept apart from the path the whole artifact would have had.
    const rel = cut.name?.slice(cut.name.indexOf('/') + 1);
    if (rel !== undefined && !rel.startsWith('data/')) return;
    const keptAs = `recovered/cut-off/${rel ? rel.slice('data/'.length) : `unnamed-at-tar-byte-${cut.dataOffset}`}`;
    await writer.addStream(keptAs, Readable.from(body), { size: cut.present });
    const listed = note.entriesCutOff.find((c) => c === cut || (c.name === cut.name && c.dataOffset === cut.dataOffset));
    if (listed) listed.keptAs = `data/${keptAs}`;
    cutOff.set(keptAs, cut);
  });
  return { inspects, original, cutOff };
}

function rememberInspect(inspects: Map<string, { id?: string; image?: string }>, folder: string, doc: unknown): void {
  const d = doc as { Id?: unknown; Name?: unknown; Config?: { Image?: unknown } } | undefined;
  const name = typeof d?.Name === 'string' ? d.Name.replace(/^\//, '') : folder;
  inspects.set(name, { id: typeof d?.Id === 'string' ? d.Id : undefined, image: typeof d?.Config?.Image === 'string' ? d.Config.Image : undefined });
}

async function readAll(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * A run that died between writing its last tag file and renaming left a whole bundle: when it
 * verifies and its name is free, it only needs its name and sidecar, and keeps its own run.json.
 */
async function finishWholePartial(group: DebrisGroup, partial: DebrisFile, scan: PartialScan, result: RecoverResult): Promise<boolean> {
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
  Object.assign(result, { status: 'finalised', path, sha256: report.sidecar.actual, size: partial.size, entriesKept: scan.entries.length });
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
async function freeBundleName(group: DebrisGroup, named: NonNullable<ReturnType<typeof parseBundleName>>): Promise<{ path: string; incident: string }> {
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
  info['Internal-Sender-Description'] = `recovered by firebreak bundle recover from the debris of a run that did not finish (${group.bundle})`;
  return info;
}

/**
 * Removes the debris the bundle was made from, each file only if it is as it was when read.
 * Runs only after the bundle is in place.
 */
async function removeDebris(group: DebrisGroup, result: RecoverResult): Promise<void> {
  const order = ['spool', 'journal', 'partial', 'recovery'];
  const files = group.files.filter((f) => order.includes(f.kind)).sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
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
  return lstat(path).then(() => true, () => false);
}

/** `<YYYYMMDDTHHMMSSZ>_<playbook>_<incident>.tar[.gz]` back into the parts naming.ts built it from. */
export function parseBundleName(file: string): { startedAt: Date; playbook: string; incident: string; compression: 'gzip' | 'none' } | undefined {
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
