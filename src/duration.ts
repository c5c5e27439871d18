import { UsageError } from './errors.js';

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
export const durationPattern = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;

/** "500ms", "10s", "2m", "1h", or a bare number of seconds, as milliseconds. */
export function parseDuration(value: string | number, where = 'duration'): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new UsageError(`${where}: ${value} is not a duration`);
    return Math.round(value * 1000);
  }
  const match = durationPattern.exec(value.trim());
  if (!match) throw new UsageError(`${where}: "${value}" is not a duration; write e.g. 500ms, 10s, 2m`);
  return Math.round(Number(match[1]) * units[match[2]!]!);
}

export function formatDuration(ms: number): string {
  // Round to the precision shown before choosing the unit, so 59.99 s never reads "60.0s".
  if (Math.round(ms) < 1000) return `${Math.round(ms)}ms`;
  if (ms < 9_995) return `${(ms / 1000).toFixed(2)}s`;
  if (ms < 59_950) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${s % 60}s`;
}
