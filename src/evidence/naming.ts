/**
 * Names of things in the evidence folder (bundle, sidecar, spool files) and inside the bag
 * (artifact paths). Every name we build or accept is checked here, in one place.
 */
import { createHash, randomBytes } from 'node:crypto';
import { UsageError } from '../errors.js';

// One character class for every part of a file name, so a bundle name is safe in any shell,
// on any file system, and as a tar entry name (no slashes, no spaces, no quotes).
const UNSAFE_RUN = /[^A-Za-z0-9._-]+/g;
// Long enough for any real playbook or incident id; short enough that the whole name stays
// far below the 255-byte file-name limit.
const MAX_PART = 64;

/** `20250102T030405Z`: UTC, no separators, sorts lexically in time order. */
export function compactTimestamp(at: Date): string {
  if (Number.isNaN(at.getTime())) throw new UsageError('bundle start time is not a valid date');
  return at
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/** A playbook or incident name reduced to `[A-Za-z0-9._-]`. */
export function safeNamePart(part: string): string {
  const cleaned = part.replace(UNSAFE_RUN, '-').slice(0, MAX_PART);
  return cleaned === '' ? 'unnamed' : cleaned;
}

/** The single top folder inside the tar: `<YYYYMMDDTHHMMSSZ>_<playbook>_<incident>`. */
export function bagName(startedAt: Date, playbook: string, incident: string): string {
  return `${compactTimestamp(startedAt)}_${safeNamePart(playbook)}_${safeNamePart(incident)}`;
}

/** `<bag name>.tar.gz`, or `.tar` when the bundle is not compressed. */
export function bundleFileName(
  startedAt: Date,
  playbook: string,
  incident: string,
  compression: 'gzip' | 'none',
): string {
  return `${bagName(startedAt, playbook, incident)}${compression === 'gzip' ? '.tar.gz' : '.tar'}`;
}

// A bag path segment stays far below NAME_MAX (255 bytes), so `tar -xf` can always create it,
// whatever the suffix (".tar") and whatever a file system adds.
const MAX_SEGMENT = 128;

/**
 * A name the engine gives (a container's, a volume's) as one segment of a path inside the bag,
 * with `suffix` (".tar") after it. The engine's names are `[A-Za-z0-9][A-Za-z0-9_.-]*`, but
 * nothing bounds their length (a 300-character container name is accepted), another engine may
 * allow more, and an engine that is not what it says can answer anything. So: every other
 * character becomes `_`; a name that would be `.` or `..` (or empty) gets a `_` in front; and a
 * name that was changed or is too long keeps a readable start and ends with a hash of the whole
 * name, so two names never share a folder. Same name in, same segment out: `bundle recover` and
 * the report find a target's folder from its name.
 */
export function entryName(name: string, suffix = ''): string {
  const cleaned = name.replace(/[^A-Za-z0-9_.-]/g, '_');
  const dotted = /^\.*$/.test(cleaned) ? `_${cleaned}` : cleaned;
  if (dotted === name && name.length + suffix.length <= MAX_SEGMENT) return `${name}${suffix}`;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 12);
  return `${dotted.slice(0, MAX_SEGMENT - suffix.length - hash.length - 1)}-${hash}${suffix}`;
}

/**
 * A hidden temporary file beside the bundle for one stream of unknown length. It lives in the
 * evidence folder (same file system and same 0700 protection as the bundle), never in /tmp.
 */
export function spoolFileName(bundleBaseName: string): string {
  return `.${bundleBaseName}.spool-${randomBytes(6).toString('hex')}`;
}

/**
 * Checks an artifact path (relative to `data/`) and returns it unchanged.
 * Besides path escapes, it refuses characters that `sha256sum -c` and BagIt manifests cannot
 * carry verbatim: control characters (a newline would split a manifest line) and `%` (BagIt
 * percent-encodes it, sha256sum does not, so the two would disagree about the name).
 */
export function checkArtifactPath(relPath: string): string {
  const problem = artifactPathProblem(relPath);
  if (problem) throw new UsageError(`artifact path ${JSON.stringify(relPath)} ${problem}`);
  return relPath;
}

function artifactPathProblem(relPath: string): string | undefined {
  if (relPath === '') return 'is empty';
  if (relPath.startsWith('/')) return 'is absolute; give a path relative to data/';
  if (relPath.includes('\\')) return 'contains a backslash; use / between folders';
  if (/[\u0000-\u001f\u007f]/.test(relPath)) return 'contains a control character';
  if (relPath.includes('%')) return 'contains %, which BagIt manifests would have to escape';
  const segments = relPath.split('/');
  if (segments.some((s) => s === '')) return 'has an empty segment (// or a trailing /)';
  if (segments.some((s) => s === '..')) return 'contains .., which would leave data/';
  if (segments.some((s) => s === '.')) return 'contains a . segment; write the path without it';
  if (segments.some((s) => Buffer.byteLength(s) > 255))
    return 'has a segment longer than a file name may be (255 bytes)';
  return undefined;
}
