import { describe, expect, it } from 'vitest';
import type { ContainerDetails, ContainerEvent } from '../../src/docker/index.js';
import { holdInForce, stopVerdict } from '../../src/engine/leave-alone.js';
import type { Hold } from '../../src/evidence/holds.js';

let clock = 1_700_000_000_000;
const event = (action: string, attributes: Record<string, string> = {}): ContainerEvent => {
  clock += 10;
  return { action, at: clock, timeNano: clock * 1e6, attributes };
};

describe('telling a stop from a crash by the events', () => {
  it('reads kill (SIGTERM), die, stop as docker stop', () => {
    expect(
      stopVerdict([event('start'), event('kill', { signal: '15' }), event('die', { exitCode: '0' }), event('stop')]),
    ).toBe('stopped by docker stop');
  });

  it('reads kill (SIGKILL), die as docker kill, though the exit code 137 is that of a crash too', () => {
    expect(stopVerdict([event('start'), event('kill', { signal: '9' }), event('die', { exitCode: '137' })])).toBe(
      'killed by docker kill',
    );
  });

  it('reads a die with no kill since the last start as a crash, the OOM killer included', () => {
    expect(stopVerdict([event('start'), event('oom'), event('die', { exitCode: '137' })])).toBe('crashed');
    // A kill of an earlier run does not count for this one.
    expect(
      stopVerdict([event('kill', { signal: '15' }), event('die'), event('stop'), event('start'), event('die')]),
    ).toBe('crashed');
  });

  it('says unknown when the engine no longer remembers the death', () => {
    expect(stopVerdict([])).toBe('unknown');
    expect(stopVerdict([event('die'), event('start')])).toBe('unknown');
  });
});

describe("firebreak's holds", () => {
  const hold = (kind: Hold['kind'], at: string): Hold => ({
    schema: 'firebreak.hold/v1',
    kind,
    engine: 'E',
    container: 'c',
    name: 'web',
    at,
    by: { user: 'u', host: 'h' },
  });
  const details = (state: Partial<ContainerDetails['state']>) =>
    ({ state: { paused: false, startedAt: '2026-01-01T00:00:00Z', ...state } }) as ContainerDetails;

  it('keeps a quarantine hold until someone starts the container again', () => {
    const held = [hold('quarantined', '2026-01-02T00:00:00Z')];
    expect(holdInForce(held, details({}))).toBe(held[0]);
    expect(holdInForce(held, details({ startedAt: '2026-01-03T00:00:00Z' }))).toBeUndefined();
  });

  it('keeps a pause hold while the container is paused', () => {
    const held = [hold('paused', '2026-01-02T00:00:00Z')];
    expect(holdInForce(held, details({ paused: true }))).toBe(held[0]);
    expect(holdInForce(held, details({ paused: false }))).toBeUndefined();
  });
});
