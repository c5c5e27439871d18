/**
 * What the event stream says about each container, read in order: who stopped it, how often it
 * died, and which events are watch's own.
 *
 * An operator's `docker stop` or `docker kill` and a crash both end in `die`, often with the same
 * exit code (137 for SIGKILL and for the OOM killer alike). The difference is what came before:
 * the engine sends `kill` (with the signal) for an operator's stop or kill, and nothing for a
 * crash. So a `kill` of a stopping signal marks the container as stopped on purpose until it next
 * starts, and its `die` is never counted as a crash. Watch's own restarts make the same events;
 * those are ignored while its run is in flight and for a short tail after, as the stream can
 * deliver them after the restart call has returned.
 */
import { formatDuration } from '../../duration.js';
import type { LiveEvent } from '../../docker/index.js';

/** Signals that ask a process to do something other than end (reload, log rotation, resize). */
const notStopping = new Set(['10', '12', '18', '28', 'SIGUSR1', 'SIGUSR2', 'SIGCONT', 'SIGWINCH', 'USR1', 'USR2']);
/** How long after its run ends a container's stop/start events are still taken as watch's own. */
const ownTailMs = 3000;

export type Reading =
  | { kind: 'ignored' }
  | { kind: 'operator'; why: string }
  | { kind: 'crash'; reason: string }
  | { kind: 'died'; reason: string };

export class Activity {
  private readonly own = new Map<string, number>();
  private readonly stoppedBy = new Map<string, string>();
  private readonly deaths = new Map<string, number[]>();
  private readonly oomAt = new Map<string, number>();

  constructor(
    private readonly crashCount: number,
    private readonly windowMs: number,
  ) {}

  beginOwn(id: string): void {
    this.own.set(id, Number.POSITIVE_INFINITY);
  }

  endOwn(id: string, now = Date.now()): void {
    this.own.set(id, now + ownTailMs);
    // A recovery starts the container again: what stopped it before no longer holds, and its deaths start over.
    this.stoppedBy.delete(id);
    this.deaths.delete(id);
  }

  isOwn(id: string, now = Date.now()): boolean {
    const until = this.own.get(id);
    if (until === undefined) return false;
    if (now <= until) return true;
    this.own.delete(id);
    return false;
  }

  /** Why the container is down on purpose (an operator's stop or kill since it last started), if it is. */
  stoppedOnPurpose(id: string): string | undefined {
    return this.stoppedBy.get(id);
  }

  /** Reads one stop/start/death event (health events are the caller's). */
  read(event: LiveEvent, now = Date.now()): Reading {
    const id = event.container;
    if (this.isOwn(id, now)) return { kind: 'ignored' };
    switch (event.action) {
      case 'kill':
        if (!notStopping.has(event.signal ?? '')) this.stoppedBy.set(id, `an operator sent signal ${event.signal}`);
        return { kind: 'ignored' };
      case 'stop':
        this.stoppedBy.set(id, this.stoppedBy.get(id) ?? 'an operator stopped it');
        return { kind: 'ignored' };
      case 'start':
      case 'restart':
        this.stoppedBy.delete(id);
        return { kind: 'ignored' };
      case 'oom':
        this.oomAt.set(id, now);
        return { kind: 'ignored' };
      case 'die':
        return this.died(event, now);
      default:
        return { kind: 'ignored' };
    }
  }

  private died(event: LiveEvent, now: number): Reading {
    const id = event.container;
    const stopped = this.stoppedBy.get(id);
    if (stopped) return { kind: 'operator', why: `${stopped} before it died (exit code ${event.exitCode ?? '?'})` };
    const oomAt = this.oomAt.get(id);
    const oom = oomAt !== undefined && oomAt > now - 5000;
    this.oomAt.delete(id);
    // A clean exit is a finished job, not a crash, unless the kernel's OOM killer ended it.
    if (event.exitCode === 0 && !oom) return { kind: 'ignored' };
    const how = oom ? 'killed by the OOM killer' : `exit code ${event.exitCode ?? '?'}`;
    const recent = (this.deaths.get(id) ?? []).filter((at) => now - at < this.windowMs);
    recent.push(now);
    this.deaths.set(id, recent);
    if (this.crashCount > 0 && recent.length >= this.crashCount) {
      this.deaths.delete(id);
      const times = recent.length === 1 ? 'once' : `${recent.length} times`;
      return { kind: 'crash', reason: `died ${times} within ${formatDuration(this.windowMs)} (last: ${how})` };
    }
    return {
      kind: 'died',
      reason: `died (${how}), ${recent.length} of ${this.crashCount || '-'} within ${formatDuration(this.windowMs)}`,
    };
  }
}
