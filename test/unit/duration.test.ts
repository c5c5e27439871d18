import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { durationMs, formatDuration, maxTimerMs, parseDuration } from '../../src/duration.js';

describe('parseDuration', () => {
  it('reads milliseconds, seconds, minutes and hours', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('1h')).toBe(3_600_000);
  });

  it('reads fractions and rounds to whole milliseconds', () => {
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('0.5m')).toBe(30_000);
    expect(parseDuration('1.0004s')).toBe(1000);
    expect(parseDuration('0ms')).toBe(0);
  });

  it('reads a bare number as seconds', () => {
    expect(parseDuration(5)).toBe(5000);
    expect(parseDuration(0.25)).toBe(250);
    expect(parseDuration(0)).toBe(0);
  });

  it('ignores spaces around the text', () => {
    expect(parseDuration(' 10s ')).toBe(10_000);
  });

  it('rejects text that is not a duration, naming where it came from', () => {
    for (const text of ['10', '10 s', '10sec', 's', '-1s', '1d', '', '1.s', 'ten seconds']) {
      expect(() => parseDuration(text)).toThrow(UsageError);
    }
    expect(() => parseDuration('soon', 'steps[0].timeout')).toThrow(
      'steps[0].timeout: "soon" is not a duration; write e.g. 500ms, 10s, 2m',
    );
  });

  it('rejects a negative or non-finite number', () => {
    expect(() => parseDuration(-1, 'grace')).toThrow('grace: -1 is not a duration');
    expect(() => parseDuration(Number.NaN)).toThrow(UsageError);
    expect(() => parseDuration(Number.POSITIVE_INFINITY)).toThrow(UsageError);
  });
});

describe('the longest duration', () => {
  it('is what setTimeout can hold, 2^31-1 ms', () => {
    expect(maxTimerMs).toBe(2_147_483_647);
  });

  it('accepts 596h, the whole hours under it, and its exact length in seconds', () => {
    expect(parseDuration('596h')).toBe(596 * 3_600_000);
    expect(parseDuration(2_147_483.647)).toBe(maxTimerMs);
  });

  it('rejects a longer duration, which a timer would fire at once, naming the maximum', () => {
    expect(() => parseDuration('600h', 'steps[0].timeout')).toThrow(
      'steps[0].timeout: "600h" is longer than a timer can wait: at most 596h (about 24.8 days)',
    );
    expect(() => parseDuration('597h')).toThrow(UsageError);
    expect(() => parseDuration(2_147_483.648)).toThrow(/longer than a timer can wait/);
    expect(() => parseDuration('99999999999999ms')).toThrow(/longer than a timer can wait/);
  });
});

describe('durationMs', () => {
  it('reads any well-formed duration, however long, and nothing else', () => {
    expect(durationMs('600h')).toBe(600 * 3_600_000);
    expect(durationMs(2)).toBe(2000);
    expect(durationMs('soon')).toBeUndefined();
    expect(durationMs(-1)).toBeUndefined();
    expect(durationMs(null)).toBeUndefined();
  });
});

describe('formatDuration', () => {
  it('shows less than a second in milliseconds', () => {
    expect(formatDuration(0)).toBe('0ms');
    expect(formatDuration(12.4)).toBe('12ms');
    expect(formatDuration(999)).toBe('999ms');
  });

  it('shows seconds with two decimals under ten seconds and one decimal under a minute', () => {
    expect(formatDuration(1000)).toBe('1.00s');
    expect(formatDuration(1234)).toBe('1.23s');
    expect(formatDuration(10_000)).toBe('10.0s');
    expect(formatDuration(42_250)).toBe('42.3s');
  });

  it('shows a minute or more as minutes and seconds', () => {
    expect(formatDuration(60_000)).toBe('1m0s');
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(3_600_000)).toBe('60m0s');
  });

  it('never shows 60 seconds, carrying into the next unit instead', () => {
    expect(formatDuration(119_500)).toBe('2m0s');
    expect(formatDuration(59_999)).toBe('1m0s');
    expect(formatDuration(999.6)).toBe('1.00s');
  });
});
