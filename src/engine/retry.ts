import { parseDuration } from '../duration.js';
import { isRetryable } from '../errors.js';
import type { RetryPolicy } from './schema.js';

/** Delay before attempt `attempt + 1` (attempt counts from 1), in milliseconds. */
export function retryDelay(policy: RetryPolicy, attempt: number): number {
  const base = parseDuration(policy.delay ?? '1s');
  const delay = policy.backoff === 'exponential' ? base * 2 ** (attempt - 1) : base;
  const cap = policy['max-delay'] !== undefined ? parseDuration(policy['max-delay']) : Number.POSITIVE_INFINITY;
  return Math.min(delay, cap);
}

/** A wait that ends early, with the signal's reason, when the run is aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Run `attempt` until it succeeds or the policy's attempts are spent. Abort (Ctrl-C) is never
 * retried; a step's own timeout is, since a slow engine call is often a transient one. An error
 * that cannot succeed a second time (no such container, a bad request, forbidden: see
 * src/docker/errors.ts) ends the attempts at once: three tries of a 404 only delay the answer.
 */
export async function withRetry<T>(
  policy: RetryPolicy | undefined,
  signal: AbortSignal,
  attempt: (n: number) => Promise<T>,
  onRetry?: (n: number, error: unknown, delayMs: number) => void,
): Promise<{ value: T; attempts: number }> {
  const attempts = policy?.attempts ?? 1;
  for (let n = 1; ; n++) {
    try {
      return { value: await attempt(n), attempts: n };
    } catch (error) {
      if (signal.aborted || n >= attempts || !isRetryable(error)) throw Object.assign(asError(error), { attempts: n });
      const delay = retryDelay(policy!, n);
      onRetry?.(n, error, delay);
      await sleep(delay, signal).catch((reason: unknown) => {
        throw Object.assign(asError(reason), { attempts: n });
      });
    }
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
