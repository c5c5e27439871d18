/**
 * Names of things in the evidence folder (bundle, sidecar, spool files) and inside the bag
 * (artifact paths). Every name we build or accept is checked here, in one place.
 */
import { randomBytes } from 'node:crypto';
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
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
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
  return undefined;
}
