/**
 * The BagIt (RFC 8493) tag files of a bundle: `bagit.txt` and `bag-info.txt`, written and read.
 * Manifests live in manifest.ts; this file knows the bag's declarations and metadata.
 */
import { UsageError } from '../errors.js';

export const TAG_FILES = {
  bagit: 'bagit.txt',
  bagInfo: 'bag-info.txt',
  manifest: 'manifest-sha256.txt',
  tagManifest: 'tagmanifest-sha256.txt',
} as const;

/** Payload files live under this folder of the bag; everything else at the top is a tag file. */
export const PAYLOAD_DIR = 'data/';

export function bagitText(): string {
  return 'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n';
}

/** `<octets>.<count>`: lets a receiver spot a missing or truncated payload before hashing. */
export function payloadOxum(octets: number, count: number): string {
  return `${octets}.${count}`;
}

/** A human size for `Bag-Size`, e.g. `1.3 GB` (decimal units, as the RFC's examples use). */
export function bagSize(octets: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = octets;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${octets} B` : `${value.toFixed(1)} ${units[unit]}`;
}

// Fields the writer computes itself; a caller supplying them would contradict the payload.
const COMPUTED_LABELS = ['bagging-date', 'payload-oxum', 'bag-size'];

/** Checks caller-supplied bag-info fields; throws naming the first bad label. */
export function checkBagInfo(fields: Record<string, string>): void {
  for (const [label, value] of Object.entries(fields)) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(label)) {
      throw new UsageError(`bag-info label ${JSON.stringify(label)} must be letters, digits, . _ or -`);
    }
    if (COMPUTED_LABELS.includes(label.toLowerCase())) {
      throw new UsageError(`bag-info label ${label} is computed by the bundle writer; do not pass it`);
    }
    if (/[\r\n]/.test(value)) {
      throw new UsageError(`bag-info value of ${label} contains a line break; give it on one line`);
    }
  }
}

export interface PayloadTotals {
  octets: number;
  count: number;
}

/** `bag-info.txt`: computed fields first, then the caller's fields in the order given. */
export function bagInfoText(baggedAt: Date, payload: PayloadTotals, extra: Record<string, string>): string {
  checkBagInfo(extra);
  const fields: Array<[string, string]> = [
    ['Bagging-Date', baggedAt.toISOString().slice(0, 10)],
    ['Payload-Oxum', payloadOxum(payload.octets, payload.count)],
    ['Bag-Size', bagSize(payload.octets)],
    ...Object.entries(extra),
  ];
  return fields.map(([label, value]) => `${label}: ${value}\n`).join('');
}

/** Reads `Label: value` lines; a line starting with whitespace continues the previous value. */
export function parseBagInfo(text: string): Array<[string, string]> {
  const fields: Array<[string, string]> = [];
  for (const line of text.split(/\r?\n/)) {
    const last = fields[fields.length - 1];
    if (/^[ \t]/.test(line) && last) {
      last[1] = `${last[1]} ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon > 0) fields.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return fields;
}

/** The first value of a label, compared case-insensitively as BagIt labels are. */
export function bagInfoValue(fields: Array<[string, string]>, label: string): string | undefined {
  return fields.find(([l]) => l.toLowerCase() === label.toLowerCase())?.[1];
}
