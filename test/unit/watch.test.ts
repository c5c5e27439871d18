// The pure parts of watch: how the event stream's stops and deaths are read, and the breaker's
// persisted count.
import { describe, expect, it } from 'vitest';
import type { LiveEvent } from '../../src/docker/index.js';
import { Activity } from '../../src/engine/watch/activity.js';
import { Breakers } from '../../src/engine/watch/breaker.js';
import { tempDir } from '../engine/bundle-files.js';

const event = (action: LiveEvent['action'], extra: Partial<LiveEvent> = {}): LiveEvent => ({
  container: 'c1',
  name: 'web-1',
  action,
  labels: {},
  time: '1.000000000',
  at: 1000,
  key: `c1|${action}|${Math.random()}`,
  ...extra,
});

describe('watch activity', () => {
  it('takes a death after an operator kill for a stop on purpose, not a crash', () => {
    const activity = new Activity(1, 600_000);
    expect(activity.read(event('kill', { signal: '15' }))).toEqual({ kind: 'ignored' });
    expect(activity.read(event('die', { exitCode: 137 })).kind).toBe('operator');
    expect(activity.stoppedOnPurpose('c1')).toMatch(/signal 15/);
  });

  it('counts a death without a kill before it as a crash, and acts at --crash-count', () => {
    const activity = new Activity(2, 600_000);
    expect(activity.read(event('die', { exitCode: 1 }), 1000).kind).toBe('died');
    expect(activity.read(event('die', { exitCode: 1 }), 2000)).toMatchObject({ kind: 'crash' });
  });

  it('does not count a clean exit, a kill that reloads, or deaths outside the window', () => {
    const activity = new Activity(2, 10_000);
    expect(activity.read(event('die', { exitCode: 0 }), 1000).kind).toBe('ignored');
    activity.read(event('kill', { signal: '10' }), 1000);
    expect(activity.read(event('die', { exitCode: 1 }), 1000).kind).toBe('died');
    expect(activity.read(event('die', { exitCode: 1 }), 20_000).kind).toBe('died');
  });

  it("ignores the events of watch's own restart while it runs and shortly after", () => {
    const activity = new Activity(1, 600_000);
    activity.beginOwn('c1');
    activity.read(event('kill', { signal: '15' }));
    expect(activity.read(event('die', { exitCode: 137 })).kind).toBe('ignored');
    activity.endOwn('c1', 1000);
    expect(activity.isOwn('c1', 2000)).toBe(true);
    expect(activity.isOwn('c1', 10_000)).toBe(false);
    expect(activity.stoppedOnPurpose('c1')).toBeUndefined();
  });
});

describe('watch circuit breaker', () => {
  it('opens after max recoveries in the window, once, and a new instance on the same folder remembers it', async () => {
    const dir = tempDir();
    const c = { id: 'a'.repeat(64), name: 'web-1' };
    const t0 = new Date('2026-01-01T00:00:00Z');
    const at = (s: number) => new Date(t0.getTime() + s * 1000);
    const one = new Breakers(dir, 'ENGINE', 2, 600_000);
    for (const s of [0, 10]) {
      expect((await one.check(c, at(s))).open).toBe(false);
      await one.record(c, at(s));
    }
    expect(await one.check(c, at(20))).toMatchObject({ open: true, opened: true, recent: 2 });
    const two = new Breakers(dir, 'ENGINE', 2, 600_000);
    expect(await two.check(c, at(30))).toMatchObject({ open: true, opened: false });
    // Another engine's container of the same id is another container.
    expect((await new Breakers(dir, 'OTHER', 2, 600_000).check(c, at(30))).open).toBe(false);
    // A window after the opening it closes, counted afresh.
    expect(await two.check(c, at(20 + 601))).toMatchObject({ open: false, recent: 0 });
  });
});
