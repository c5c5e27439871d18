import { describe, expect, it } from 'vitest';
import { retryDelay } from '../../src/engine/retry.js';
import { retryPolicyOf, tailorAutoRecover, type RecoverPolicy } from '../../src/engine/recover-playbook.js';

const defaults: RecoverPolicy = {
  retries: 3,
  delay: '5s',
  backoff: 'exponential',
  maxDelay: '5m',
  action: 'restart',
  quarantineOnFailure: false,
};

const delays = (policy: RecoverPolicy) => {
  const retry = retryPolicyOf(policy);
  return Array.from({ length: retry.attempts - 1 }, (_, i) => retryDelay(retry, i + 1));
};

describe('recover backoff', () => {
  it('waits 5s, 10s, 20s by default: three retries, doubling', () => {
    expect(delays(defaults)).toEqual([5000, 10_000, 20_000]);
  });

  it('caps an exponential wait at --max-delay', () => {
    expect(delays({ ...defaults, retries: 6, delay: '10s', maxDelay: '1m' })).toEqual([
      10_000, 20_000, 40_000, 60_000, 60_000, 60_000,
    ]);
  });

  it('keeps every wait the same with --backoff fixed', () => {
    expect(delays({ ...defaults, backoff: 'fixed', delay: '2s' })).toEqual([2000, 2000, 2000]);
  });

  it('makes one attempt and no wait with --retries 0', () => {
    expect(retryPolicyOf({ ...defaults, retries: 0 }).attempts).toBe(1);
    expect(delays({ ...defaults, retries: 0 })).toEqual([]);
  });

  it('refuses a bad delay as bad input, naming the flag', () => {
    expect(() => retryPolicyOf({ ...defaults, delay: 'soon' })).toThrow(
      expect.objectContaining({ exitCode: 2, message: expect.stringContaining('--delay') }),
    );
    expect(() => retryPolicyOf({ ...defaults, retries: -1 })).toThrow(expect.objectContaining({ exitCode: 2 }));
  });
});

describe('the auto-recover playbook, tailored', () => {
  it('keeps the evidence steps first, then retries restart and health.wait as one group', () => {
    const playbook = tailorAutoRecover(defaults);
    expect(playbook.steps.map((s) => s.uses)).toEqual([
      'evidence.inspect',
      'evidence.logs',
      'evidence.top',
      'evidence.stats',
      'group',
    ]);
    const group = playbook.steps[4]!;
    expect(group.steps!.map((s) => s.uses)).toEqual(['container.restart', 'health.wait']);
    expect(group.retry).toEqual({ attempts: 4, delay: '5s', backoff: 'exponential', 'max-delay': '5m' });
    expect(playbook.steps.slice(0, 4).every((s) => s.continueOnError)).toBe(true);
    expect(playbook.onFailure.map((s) => s.uses)).toEqual(['alert.webhook']);
    // A plain name today; a structured post-condition ({ kind }) once `expect` grows.
    const kinds = (playbook.expect as unknown[]).map((e) => (typeof e === 'string' ? e : (e as { kind: string }).kind));
    expect(kinds).toEqual(['healthy']);
  });

  it('stops instead of restarting with --action stop, and only alerts with --action none', () => {
    expect(tailorAutoRecover({ ...defaults, action: 'stop' }).steps.at(-1)!.uses).toBe('container.stop');
    const none = tailorAutoRecover({ ...defaults, action: 'none' });
    expect(none.steps.map((s) => s.uses)).not.toContain('container.restart');
    expect(none.steps.at(-1)!.uses).toBe('alert.webhook');
  });

  it('escalates to the quarantine steps after the alert with --quarantine-on-failure', () => {
    const playbook = tailorAutoRecover({ ...defaults, quarantineOnFailure: true });
    expect(playbook.onFailure.map((s) => s.uses)).toEqual([
      'alert.webhook',
      'container.commit',
      'image.tag',
      'container.stop',
      'assert.stopped',
    ]);
  });
});
