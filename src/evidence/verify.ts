/**
 * Verifies a bundle in one pass: every entry is re-hashed as it streams by (only the small tag
 * files are kept in memory), the whole file is hashed in the same pass for the sidecar, and the
 * result is compared with the manifests, Payload-Oxum and `<bundle>.sha256`.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { messageOf } from '../errors.js';
import { PAYLOAD_DIR, TAG_FILES, bagInfoValue, parseBagInfo, payloadOxum } from './bagit.js';
import { DigestStream, parseManifest } from './manifest.js';
import { assertBundleFile, walkBundle, type BundleEntry } from './reader.js';

export interface VerifyReport {
  ok: boolean;
  bundle: string;
  bag: string;
  entries: number;
  payloadOctets: number;
  mismatches: Array<{ path: string; expected: string; actual: string }>;
  missing: string[];
  unexpected: string[];
  oxum: { expected: string; actual: string; ok: boolean };
  tagManifestOk: boolean;
  sidecar: { present: boolean; ok: boolean; expected?: string; actual: string };
  /** One human line per problem found. */
  problems: string[];
}

interface Seen {
  bags: Set<string>;
  files: Map<string, { sha256: string; size: number }>;
  /** Bodies of the tag files we parse; nothing else is kept. */
  tagText: Map<string, string>;
  odd: string[];
  problems: string[];
}

const PARSED_TAGS = new Set<string>([TAG_FILES.bagit, TAG_FILES.bagInfo, TAG_FILES.manifest, TAG_FILES.tagManifest]);
// A manifest line is ~100 bytes; this allows hundreds of thousands of files and still bounds memory.
const MAX_TAG_BYTES = 64 * 1024 * 1024;

export async function verifyBundle(path: string): Promise<VerifyReport> {
  await assertBundleFile(path);
  const seen: Seen = { bags: new Set(), files: new Map(), tagText: new Map(), odd: [], problems: [] };
  const raw = new DigestStream();
  let readFailed = false;
  try {
    await walkBundle(path, (entry) => collect(seen, entry), raw);
  } catch (error) {
    readFailed = true;
    seen.problems.push(
      `cannot read ${path} as a tar or tar.gz: ${messageOf(error)} (damaged, truncated, or not a bundle)`,
    );
  }
  const report = startReport(path, seen);
  checkPayload(report, seen);
  checkTags(report, seen);
  checkOxum(report, seen);
  // After a failed read the tap saw only part of the file, so the sidecar needs its own pass.
  const fileSha256 = readFailed ? await hashFile(path) : raw.sha256();
  await checkSidecar(report, path, fileSha256);
  report.ok = report.problems.length === 0;
  return report;
}

async function collect(seen: Seen, entry: BundleEntry): Promise<void> {
  if (entry.bag !== '') seen.bags.add(entry.bag);
  if (entry.type === 'directory') return;
  const label = entry.rel === '' ? entry.name : entry.rel;
  if (entry.type !== 'file' && entry.type !== 'contiguous-file') {
    seen.odd.push(label);
    seen.problems.push(`${label} is a ${entry.type} entry; a bundle holds only files`);
    return;
  }
  if (seen.files.has(label)) seen.problems.push(`${label} appears more than once in the tar`);
  const keep = PARSED_TAGS.has(label) && entry.size <= MAX_TAG_BYTES;
  const hash = createHash('sha256');
  const kept: Buffer[] = [];
  let size = 0;
  for await (const chunk of entry.body) {
    hash.update(chunk);
    size += chunk.length;
    if (keep) kept.push(chunk);
  }
  seen.files.set(label, { sha256: hash.digest('hex'), size });
  if (keep) seen.tagText.set(label, Buffer.concat(kept).toString('utf8'));
}

function startReport(path: string, seen: Seen): VerifyReport {
  const bags = [...seen.bags];
  if (bags.length > 1)
    seen.problems.push(`entries are spread over several top folders (${bags.join(', ')}); a bundle has one bag`);
  if (seen.files.size === 0) seen.problems.push(`${path} contains no files`);
  return {
    ok: false,
    bundle: path,
    bag: bags.length === 1 ? bags[0]! : '',
    entries: seen.files.size,
    payloadOctets: [...payloadFiles(seen)].reduce((sum, [, f]) => sum + f.size, 0),
    mismatches: [],
    missing: [],
    unexpected: [...seen.odd],
    oxum: { expected: '', actual: '', ok: false },
    tagManifestOk: false,
    sidecar: { present: false, ok: true, actual: '' },
    problems: seen.problems,
  };
}

function* payloadFiles(seen: Seen): Iterable<[string, { sha256: string; size: number }]> {
  for (const entry of seen.files) if (entry[0].startsWith(PAYLOAD_DIR)) yield entry;
}

/** Compares the files listed in `manifestName` with what the tar holds; false on any difference. */
function compareListed(report: VerifyReport, seen: Seen, manifestName: string, listed: Map<string, string>): boolean {
  let ok = true;
  for (const [path, expected] of listed) {
    const file = seen.files.get(path);
    if (!file) {
      ok = false;
      report.missing.push(path);
      report.problems.push(`${path} is listed in ${manifestName} but is not in the bundle`);
    } else if (file.sha256 !== expected) {
      ok = false;
      report.mismatches.push({ path, expected, actual: file.sha256 });
      report.problems.push(`${path} does not match ${manifestName}: sha256 is ${file.sha256}, expected ${expected}`);
    }
  }
  return ok;
}

function readManifest(report: VerifyReport, seen: Seen, name: string): Map<string, string> | undefined {
  const text = seen.tagText.get(name);
  if (text === undefined) {
    report.missing.push(name);
    report.problems.push(`${name} is missing from the bag`);
    return undefined;
  }
  const parsed = parseManifest(text, name);
  report.problems.push(...parsed.problems);
  return parsed.entries;
}

function checkPayload(report: VerifyReport, seen: Seen): void {
  const listed = readManifest(report, seen, TAG_FILES.manifest);
  if (!listed) return;
  for (const path of listed.keys()) {
    if (!path.startsWith(PAYLOAD_DIR))
      report.problems.push(`${TAG_FILES.manifest} lists ${path}, which is outside data/`);
  }
  compareListed(report, seen, TAG_FILES.manifest, listed);
  for (const [path] of payloadFiles(seen)) {
    if (listed.has(path)) continue;
    report.unexpected.push(path);
    report.problems.push(`${path} is in the bundle but not in ${TAG_FILES.manifest}`);
  }
}

function checkTags(report: VerifyReport, seen: Seen): void {
  const bagit = seen.tagText.get(TAG_FILES.bagit);
  if (bagit === undefined) {
    report.missing.push(TAG_FILES.bagit);
    report.problems.push(`${TAG_FILES.bagit} is missing: this is not a BagIt bag`);
  } else if (!/^BagIt-Version: /m.test(bagit)) {
    report.problems.push(`${TAG_FILES.bagit} does not declare a BagIt-Version`);
  }
  const listed = readManifest(report, seen, TAG_FILES.tagManifest);
  if (!listed) return;
  const parseOk = report.problems.every((p) => !p.startsWith(`${TAG_FILES.tagManifest} line`));
  report.tagManifestOk = compareListed(report, seen, TAG_FILES.tagManifest, listed) && parseOk;
  for (const path of seen.files.keys()) {
    if (path.startsWith(PAYLOAD_DIR) || path.startsWith('tagmanifest-') || listed.has(path)) continue;
    report.unexpected.push(path);
    report.problems.push(`${path} is a tag file not listed in ${TAG_FILES.tagManifest}`);
  }
}

function checkOxum(report: VerifyReport, seen: Seen): void {
  const count = [...payloadFiles(seen)].length;
  const actual = payloadOxum(report.payloadOctets, count);
  const info = seen.tagText.get(TAG_FILES.bagInfo);
  const expected = info === undefined ? '' : (bagInfoValue(parseBagInfo(info), 'Payload-Oxum') ?? '');
  report.oxum = { expected, actual, ok: expected === actual };
  if (info === undefined) {
    report.missing.push(TAG_FILES.bagInfo);
    report.problems.push(`${TAG_FILES.bagInfo} is missing, so Payload-Oxum cannot be checked`);
  } else if (!report.oxum.ok) {
    report.problems.push(
      `Payload-Oxum in ${TAG_FILES.bagInfo} is ${expected || '(absent)'}, the payload is ${actual} (octets.files)`,
    );
  }
}

async function checkSidecar(report: VerifyReport, path: string, actual: string): Promise<void> {
  const sidecarPath = `${path}.sha256`;
  report.sidecar = { present: false, ok: true, actual };
  const text = await readFile(sidecarPath, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (text === undefined) return;
  const expected = /^([0-9A-Fa-f]{64})(\s|$)/.exec(text)?.[1]?.toLowerCase();
  report.sidecar = { present: true, ok: expected === actual, expected, actual };
  if (expected === undefined) report.problems.push(`${sidecarPath} does not start with a sha256 hash`);
  else if (expected !== actual)
    report.problems.push(`${path} has sha256 ${actual}, but ${sidecarPath} says ${expected}`);
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  // Async iteration pulls one chunk at a time, so a large file never piles up in memory.
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
