/**
 * The event stream kept open across engine restarts and cut connections. On every (re)connect
 * the stream is opened first and the caller re-lists second, so nothing falls between the two:
 * health events fire only when a status changes, so a watcher that missed the one event would
 * never get another, and the engine keeps only its last 256 events for a `since=` replay. The
 * replay asks from the last event seen (inclusive), and what it repeats is dropped by key.
 */
import { messageOf } from '../../errors.js';
import type { Engine, LiveEvent } from '../../docker/index.js';
import { sleep } from '../retry.js';

const firstDelayMs = 250;
const maxDelayMs = 30_000;
/** A connection that lasted this long was a good one: the next break starts the backoff over. */
const steadyMs = 5000;
/** How many event keys are remembered for dropping a replay's repeats. */
const rememberedKeys = 4096;

export interface FollowerHooks {
  /** The stream is open (again): re-list now. */
  connected(again: boolean): Promise<void>;
  event(event: LiveEvent): void;
  disconnected(problem: string, retryInMs: number): void;
  badLine(problem: string): void;
}

export async function followForever(
  engine: Engine,
  options: { labels: readonly string[]; signal: AbortSignal },
  hooks: FollowerHooks,
): Promise<void> {
  const seen = new Set<string>();
  let since: string | undefined;
  let delay = firstDelayMs;
  let connections = 0;
  while (!options.signal.aborted) {
    const openedAt = Date.now();
    // Ends this connection's answer when anything below fails before the stream is read.
    const connection = new AbortController();
    try {
      const events = await engine.feed.follow({
        since,
        labels: options.labels,
        signal: AbortSignal.any([options.signal, connection.signal]),
        onBadLine: hooks.badLine,
      });
      await hooks.connected(connections++ > 0);
      for await (const event of events) {
        if (seen.has(event.key)) continue;
        seen.add(event.key);
        if (seen.size > rememberedKeys) seen.delete(seen.values().next().value!);
        since = event.time;
        hooks.event(event);
      }
    } catch (error) {
      if (options.signal.aborted) return;
      if (Date.now() - openedAt >= steadyMs) delay = firstDelayMs;
      hooks.disconnected(messageOf(error), delay);
      await sleep(delay, options.signal).catch(() => undefined);
      delay = Math.min(delay * 2, maxDelayMs);
    } finally {
      connection.abort();
    }
  }
}
