import { UsageError } from './errors.js';

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
export const durationPattern = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;

/**
 * The longest wait a timer can hold: setTimeout keeps a signed 32-bit count of milliseconds, and
 * a longer one (600h) is not refused but fires at once, which would turn a timeout into an instant failure.
 */
export const maxTimerMs = 2 ** 31 - 1;
/** The maximum as people read it: 596h, about 24.8 days. */
export const maxTimerText = `${Math.floor(maxTimerMs / units.h!)}h (about ${Math.floor(maxTimerMs / 8_640_000) / 10} days)`;

/** What is wrong with a duration, or undefined when it reads as one that a timer can wait. */
export function durationProblem(value: unknown): string | undefined {
  const ms = durationMs(value);
  if (ms === undefined) {
    return typeof value === 'number'
      ? `${value} is not a duration`
      : `${JSON.stringify(value)} is not a duration; write e.g. 500ms, 10s, 2m`;
  }
  if (ms > maxTimerMs) return `${JSON.stringify(value)} is longer than a timer can wait: at most ${maxTimerText}`;
  return undefined;
}

/** "500ms", "10s", "2m", "1h", or a bare number of seconds, as milliseconds; at most `maxTimerMs`. */
export function parseDuration(value: string | number, where = 'duration'): number {
  const problem = durationProblem(value);
  if (problem) throw new UsageError(`${where}: ${problem}`);
  return durationMs(value)!;
}

/** Milliseconds, however long, or undefined when the value is not written as a duration. */
export function durationMs(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : undefined;
  const match = typeof value === 'string' ? durationPattern.exec(value.trim()) : null;
  return match ? Math.round(Number(match[1]) * units[match[2]!]!) : undefined;
}

export function formatDuration(ms: number): string {
  // Round to the precision shown before choosing the unit, so 59.99 s never reads "60.0s".
  if (Math.round(ms) < 1000) return `${Math.round(ms)}ms`;
  if (ms < 9_995) return `${(ms / 1000).toFixed(2)}s`;
  if (ms < 59_950) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${s % 60}s`;
}
