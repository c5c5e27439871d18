import { UsageError } from '../errors.js';

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
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}
