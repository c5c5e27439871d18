import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mapDockerError } from '../../src/docker/errors.js';
import { retryDelay, sleep, withRetry } from '../../src/engine/retry.js';
import { EngineError, EngineUnreachableError } from '../../src/errors.js';
import type { RetryPolicy } from '../../src/engine/schema.js';
import { StepTimeoutError, withTimeout } from '../../src/engine/timeout.js';

const policy = (p: Partial<RetryPolicy> & { attempts: number }): RetryPolicy => ({
  delay: '1s',
  backoff: 'fixed',
  ...p,
});

/** Settles a promise into a value or an error, so fake timers can run before anyone awaits it. */
function settle<T>(promise: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  return promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

describe('retryDelay', () => {
  it('waits the same delay before every attempt with fixed backoff', () => {
    const fixed = policy({ attempts: 5, delay: '2s' });
    expect([1, 2, 3, 4].map((n) => retryDelay(fixed, n))).toEqual([2000, 2000, 2000, 2000]);
  });

  it('doubles the delay before each attempt with exponential backoff', () => {
    const exponential = policy({ attempts: 5, delay: '500ms', backoff: 'exponential' });
    expect([1, 2, 3, 4].map((n) => retryDelay(exponential, n))).toEqual([500, 1000, 2000, 4000]);
  });

  it('caps an exponential delay at max-delay', () => {
    const capped = policy({ attempts: 10, delay: '1s', backoff: 'exponential', 'max-delay': '5s' });
    expect([1, 2, 3, 4, 5, 9].map((n) => retryDelay(capped, n))).toEqual([1000, 2000, 4000, 5000, 5000, 5000]);
  });

  it('reads a delay given as a number of seconds', () => {
    expect(retryDelay(policy({ attempts: 2, delay: 1.5 }), 1)).toBe(1500);
    expect(retryDelay(policy({ attempts: 2, delay: 0 }), 1)).toBe(0);
  });

  it('waits one second when the policy has no delay', () => {
    expect(retryDelay({ attempts: 2, backoff: 'fixed' } as RetryPolicy, 1)).toBe(1000);
  });
});

describe('withRetry', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs once and returns the value when the first attempt succeeds', async () => {
    const attempt = vi.fn(async () => 'done');
    await expect(withRetry(policy({ attempts: 3 }), new AbortController().signal, attempt)).resolves.toEqual({
      value: 'done',
      attempts: 1,
    });
    expect(attempt).toHaveBeenCalledTimes(1);
  });

  it('runs once without a policy and puts attempts: 1 on the error', async () => {
    const attempt = vi.fn(async () => {
      throw new Error('boom');
    });
    const { error } = await settle(withRetry(undefined, new AbortController().signal, attempt));
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe('boom');
    expect((error as { attempts?: number }).attempts).toBe(1);
    expect(attempt).toHaveBeenCalledTimes(1);
  });

  it('stops at the first success and reports how many attempts it took', async () => {
    const attempt = vi.fn(async (n: number) => {
      if (n < 3) throw new Error(`flaky ${n}`);
      return n * 10;
    });
    const result = settle(withRetry(policy({ attempts: 5, delay: '100ms' }), new AbortController().signal, attempt));
    await vi.runAllTimersAsync();
    expect(await result).toEqual({ value: { value: 30, attempts: 3 } });
    expect(attempt.mock.calls.map(([n]) => n)).toEqual([1, 2, 3]);
  });

  it('gives up after the policy attempts, throwing the last error with the attempts count', async () => {
    const attempt = vi.fn(async (n: number) => {
      throw new Error(`failure ${n}`);
    });
    const result = settle(withRetry(policy({ attempts: 3, delay: '10ms' }), new AbortController().signal, attempt));
    await vi.runAllTimersAsync();
    const { error } = await result;
    expect((error as Error).message).toBe('failure 3');
    expect((error as { attempts?: number }).attempts).toBe(3);
    expect(attempt).toHaveBeenCalledTimes(3);
  });

  it('wraps a thrown non-error in an Error that carries the attempts count', async () => {
    const result = settle(
      withRetry(policy({ attempts: 2, delay: '10ms' }), new AbortController().signal, async () => {
        throw 'a string';
      }),
    );
    await vi.runAllTimersAsync();
    const { error } = await result;
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe('a string');
    expect((error as { attempts?: number }).attempts).toBe(2);
  });

  it('waits the fixed delay between attempts', async () => {
    const times: number[] = [];
    const result = settle(
      withRetry(policy({ attempts: 4, delay: '2s' }), new AbortController().signal, async () => {
        times.push(Date.now());
        throw new Error('down');
      }),
    );
    await vi.runAllTimersAsync();
    await result;
    expect(times).toEqual([0, 2000, 4000, 6000]);
  });

  it('waits exponentially longer between attempts, up to max-delay', async () => {
    const times: number[] = [];
    const delays: number[] = [];
    const result = settle(
      withRetry(
        policy({ attempts: 5, delay: '1s', backoff: 'exponential', 'max-delay': '3s' }),
        new AbortController().signal,
        async () => {
          times.push(Date.now());
          throw new Error('down');
        },
        (_n, _error, delayMs) => delays.push(delayMs),
      ),
    );
    await vi.runAllTimersAsync();
    expect((await result).error).toBeInstanceOf(Error);
    expect(delays).toEqual([1000, 2000, 3000, 3000]);
    expect(times).toEqual([0, 1000, 3000, 6000, 9000]);
  });

  it('does not start the next attempt before the delay is over', async () => {
    const attempt = vi.fn(async () => {
      throw new Error('down');
    });
    const result = settle(withRetry(policy({ attempts: 3, delay: '1s' }), new AbortController().signal, attempt));
    await vi.advanceTimersByTimeAsync(999);
    expect(attempt).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(attempt).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(1000);
    expect(attempt).toHaveBeenCalledTimes(3);
    expect((await result).error).toBeInstanceOf(Error);
  });

  it('tells onRetry the attempt that failed, its error and the delay before the next one', async () => {
    const onRetry = vi.fn();
    const failure = new Error('down');
    const result = settle(
      withRetry(
        policy({ attempts: 3, delay: '250ms', backoff: 'exponential' }),
        new AbortController().signal,
        async () => {
          throw failure;
        },
        onRetry,
      ),
    );
    await vi.runAllTimersAsync();
    await result;
    expect(onRetry.mock.calls).toEqual([
      [1, failure, 250],
      [2, failure, 500],
    ]);
  });

  it('never retries an attempt that failed after the run was aborted', async () => {
    const controller = new AbortController();
    const attempt = vi.fn(async () => {
      controller.abort(new Error('interrupted'));
      throw new Error('the engine call was cancelled');
    });
    const { error } = await settle(withRetry(policy({ attempts: 5, delay: '1s' }), controller.signal, attempt));
    expect((error as Error).message).toBe('the engine call was cancelled');
    expect((error as { attempts?: number }).attempts).toBe(1);
    expect(attempt).toHaveBeenCalledTimes(1);
  });

  it('stops waiting for the next attempt when the run is aborted during the delay', async () => {
    const controller = new AbortController();
    const attempt = vi.fn(async () => {
      throw new Error('down');
    });
    const result = settle(withRetry(policy({ attempts: 5, delay: '10s' }), controller.signal, attempt));
    await vi.advanceTimersByTimeAsync(3000);
    const reason = new Error('interrupted');
    controller.abort(reason);
    const { error } = await result;
    expect(error).toBe(reason);
    expect(Date.now()).toBe(3000);
    await vi.runAllTimersAsync();
    expect(attempt).toHaveBeenCalledTimes(1);
  });
});

describe('withRetry and errors that cannot succeed on a second try', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** An engine refusal as the adapter hands it up: docker-modem's error through mapDockerError. */
  const refused = (statusCode: number, message: string) =>
    mapDockerError(
      Object.assign(new Error(`(HTTP code ${statusCode}) - ${message}`), { statusCode, json: { message } }),
      'disconnect web-1',
      'unix:///var/run/docker.sock',
    );

  const cases: Array<[string, () => Error]> = [
    ['no such container (404)', () => refused(404, 'No such container: web-1')],
    ['a bad parameter (400)', () => refused(400, 'invalid reference format')],
    ['forbidden (403)', () => refused(403, 'authorization denied by plugin opa: network disconnect')],
    [
      'the host network namespace refusal (400)',
      () => refused(400, 'container cannot be disconnected from host network or connected to host network'),
    ],
    [
      'the host network namespace refusal (500, older engines)',
      () =>
        refused(
          500,
          'container sharing network namespace with another container or host cannot be connected to any other network',
        ),
    ],
  ];
  for (const [name, make] of cases) {
    it(`tries once, with no delay, when the engine answers ${name}`, async () => {
      const error = make();
      const attempt = vi.fn(async () => {
        throw error;
      });
      const onRetry = vi.fn();
      const { error: thrown } = await settle(
        withRetry(policy({ attempts: 3, delay: '1s' }), new AbortController().signal, attempt, onRetry),
      );
      expect(thrown).toBe(error);
      expect((thrown as { attempts?: number }).attempts).toBe(1);
      expect(attempt).toHaveBeenCalledTimes(1);
      expect(onRetry).not.toHaveBeenCalled();
      expect(Date.now()).toBe(0);
    });
  }

  it('retries a conflict (409) and a server error (500), which can pass', async () => {
    const attempt = vi.fn(async (n: number) => {
      if (n === 1) throw refused(409, 'Container web-1 is restarting, wait until the container is running');
      if (n === 2) throw refused(500, 'context deadline exceeded');
      return 'done';
    });
    const result = settle(withRetry(policy({ attempts: 3, delay: '1s' }), new AbortController().signal, attempt));
    await vi.runAllTimersAsync();
    expect(await result).toEqual({ value: { value: 'done', attempts: 3 } });
  });

  it('retries an engine that could not be reached, which may be restarting', async () => {
    const attempt = vi.fn(async (n: number) => {
      if (n === 1) throw new EngineUnreachableError('cannot reach the Docker engine: ECONNREFUSED');
      return 'back';
    });
    const result = settle(withRetry(policy({ attempts: 2, delay: '1s' }), new AbortController().signal, attempt));
    await vi.runAllTimersAsync();
    expect(await result).toEqual({ value: { value: 'back', attempts: 2 } });
  });

  it('stops at the first final error even after transient ones', async () => {
    const attempt = vi.fn(async (n: number) => {
      if (n === 1) throw refused(500, 'transient');
      throw refused(404, 'No such container: web-1');
    });
    const result = settle(withRetry(policy({ attempts: 5, delay: '1s' }), new AbortController().signal, attempt));
    await vi.runAllTimersAsync();
    const { error } = await result;
    expect((error as EngineError).statusCode).toBe(404);
    expect((error as { attempts?: number }).attempts).toBe(2);
    expect(attempt).toHaveBeenCalledTimes(2);
  });

  it('reads the verdict through an error that wraps the engine error', async () => {
    const attempt = vi.fn(async () => {
      throw new Error('network.disconnect on web-1 failed', { cause: refused(404, 'No such container: web-1') });
    });
    const { error } = await settle(
      withRetry(policy({ attempts: 3, delay: '1s' }), new AbortController().signal, attempt),
    );
    expect((error as { attempts?: number }).attempts).toBe(1);
  });
});

describe('sleep', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('resolves after the time', async () => {
    const done = vi.fn();
    void sleep(500).then(done);
    await vi.advanceTimersByTimeAsync(499);
    expect(done).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toHaveBeenCalled();
  });

  it('rejects at once with the reason of a signal that is already aborted', async () => {
    const reason = new Error('gone');
    await expect(sleep(500, AbortSignal.abort(reason))).rejects.toBe(reason);
  });
});

describe('withTimeout', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('returns the value of work that finishes in time', async () => {
    await expect(withTimeout(1000, new AbortController().signal, async () => 'ok')).resolves.toBe('ok');
  });

  it('passes on the error of work that fails in time', async () => {
    const failure = new Error('refused');
    await expect(
      withTimeout(1000, new AbortController().signal, async () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
  });

  it('rejects a hung promise with StepTimeoutError once the time is up', async () => {
    const result = settle(withTimeout(5000, new AbortController().signal, () => new Promise<never>(() => {})));
    const settled = vi.fn();
    void result.then(settled);
    await vi.advanceTimersByTimeAsync(4999);
    expect(settled).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    const { error } = await result;
    expect(error).toBeInstanceOf(StepTimeoutError);
    expect((error as StepTimeoutError).ms).toBe(5000);
    expect((error as Error).message).toBe('timed out after 5.00s');
  });

  it('aborts the signal given to the work when the time is up, with the timeout as the reason', async () => {
    let seen: AbortSignal | undefined;
    const result = settle(
      withTimeout(1000, new AbortController().signal, (signal) => {
        seen = signal;
        return new Promise<never>(() => {});
      }),
    );
    expect(seen!.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1000);
    expect(seen!.aborted).toBe(true);
    expect(seen!.reason).toBeInstanceOf(StepTimeoutError);
    expect((await result).error).toBe(seen!.reason);
  });

  it('rejects with the reason of the parent when the run is aborted, and aborts the work', async () => {
    const parent = new AbortController();
    let seen: AbortSignal | undefined;
    const result = settle(
      withTimeout(60_000, parent.signal, (signal) => {
        seen = signal;
        return new Promise<never>(() => {});
      }),
    );
    await vi.advanceTimersByTimeAsync(100);
    const reason = new Error('interrupted');
    parent.abort(reason);
    const { error } = await result;
    expect(error).toBe(reason);
    expect(seen!.aborted).toBe(true);
    expect(seen!.reason).toBe(reason);
    expect(Date.now()).toBe(100);
  });

  it('rejects at once when the parent is already aborted', async () => {
    const reason = new Error('interrupted before the step');
    let seen: AbortSignal | undefined;
    const { error } = await settle(
      withTimeout(60_000, AbortSignal.abort(reason), (signal) => {
        seen = signal;
        return new Promise<never>(() => {});
      }),
    );
    expect(error).toBe(reason);
    expect(seen?.aborted ?? true).toBe(true);
  });

  it('leaves no timer behind once the work is done', async () => {
    await withTimeout(60_000, new AbortController().signal, async () => 'quick');
    expect(vi.getTimerCount()).toBe(0);
  });
});
