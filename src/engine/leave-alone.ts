/**
 * "Never fight the operator": the one place that says why a container must be left alone by an
 * automatic recovery. docker-autoheal's most-asked complaint (willfarrell/docker-autoheal #22) is
 * restarting a container an admin stopped on purpose to look at it.
 */
import type { ContainerDetails, ContainerEvent, Engine } from '../docker/index.js';
import { holdsOn, type Hold } from '../evidence/holds.js';
import { messageOf } from '../errors.js';

export const ignoreLabel = 'firebreak.ignore';

export interface LeaveAloneContext {
  engine: Engine;
  evidenceDir: string;
  signal?: AbortSignal;
}

/** Why `details` must be left alone, in words for the summary; undefined when recovering it is fine. */
export async function whyLeaveAlone(ctx: LeaveAloneContext, details: ContainerDetails): Promise<string | undefined> {
  if (details.labels[ignoreLabel] === 'true') return `labelled ${ignoreLabel}=true`;
  const hold = holdInForce(await holdsOf(ctx, details), details);
  if (hold) return describeHold(hold);
  const { state } = details;
  if (state.paused) return 'paused (by docker pause, or another tool); unpause it to have it recovered';
  if (state.restarting) return 'restarting: its restart policy is already at work';
  if (state.status === 'created') return 'created but never started';
  if (state.running || state.status === 'removing') return undefined;
  return whyStopped(ctx, details);
}

async function holdsOf(ctx: LeaveAloneContext, details: ContainerDetails): Promise<Hold[]> {
  const engine = (await ctx.engine.identity()).id;
  return holdsOn(ctx.evidenceDir, engine, details.id);
}

/**
 * A hold lasts while what firebreak did still stands: a pause while the container is paused, a
 * quarantine until someone starts the container again. Whoever started it after the quarantine
 * took that decision, and an unhealthy container from then on is an ordinary one.
 */
export function holdInForce(holds: readonly Hold[], details: ContainerDetails): Hold | undefined {
  const startedAt = details.state.startedAt ? Date.parse(details.state.startedAt) : 0;
  return holds.find((hold) => (hold.kind === 'paused' ? details.state.paused : !(startedAt > Date.parse(hold.at))));
}

function describeHold(hold: Hold): string {
  const why = hold.incident ? ` (incident ${hold.incident})` : '';
  return `${hold.kind} by firebreak${why} at ${hold.at}, by ${hold.by.user}@${hold.by.host}; --force to override`;
}

/**
 * An exited container: stopped by someone, or crashed? Exit code 137 is the same for `docker kill`
 * and for the OOM killer, and `docker stop` of a process that ignores SIGTERM ends in 137 too; the
 * engine's events tell them apart: `docker stop` and `docker kill` log a `kill` event before the
 * `die`, a crash logs `die` alone (after an `oom` for the OOM killer).
 */
async function whyStopped(ctx: LeaveAloneContext, details: ContainerDetails): Promise<string | undefined> {
  const { state } = details;
  const started = state.startedAt ? new Date(Date.parse(state.startedAt) - 1000) : undefined;
  const finished = state.finishedAt ? Date.parse(state.finishedAt) : Date.now();
  let events: ContainerEvent[];
  try {
    events = await ctx.engine.events.ofContainer(
      details.id,
      { since: started, until: new Date(finished + 2000), actions: ['start', 'kill', 'stop', 'die', 'oom'] },
      ctx.signal,
    );
  } catch (error) {
    return `${state.status} (exit code ${state.exitCode}), and the engine's events, which tell a stop from a crash, could not be read: ${messageOf(error)}`;
  }
  const verdict = stopVerdict(events);
  if (verdict === 'crashed') return undefined;
  if (verdict === 'unknown')
    return `${state.status} (exit code ${state.exitCode}) at ${state.finishedAt}; the engine no longer remembers how (it keeps its last 256 events), so it is taken for a deliberate stop; --force to recover it`;
  return `${verdict} (exit code ${state.exitCode}) at ${state.finishedAt}; start it yourself or use --force`;
}

export type StopVerdict = 'stopped by docker stop' | 'killed by docker kill' | 'crashed' | 'unknown';

/**
 * What the events of a container's last run say about its end. Only events after its last
 * `start` count; a `kill` whose signal did not end the process (docker kill -s HUP) leaves no
 * `die` right after it, and a `die` with no `kill` since the start is a crash.
 */
export function stopVerdict(events: readonly ContainerEvent[]): StopVerdict {
  const sorted = [...events].sort((a, b) => a.timeNano - b.timeNano);
  let lastStart = -1;
  let lastDie = -1;
  sorted.forEach((event, index) => {
    if (event.action === 'start') lastStart = index;
    if (event.action === 'die') lastDie = index;
  });
  if (lastDie < 0 || lastDie < lastStart) return 'unknown';
  const before = sorted.slice(lastStart + 1, lastDie);
  const after = sorted.slice(lastDie + 1);
  if (after.some((event) => event.action === 'stop')) return 'stopped by docker stop';
  if (before.some((event) => event.action === 'kill')) {
    // `docker stop` logs kill (SIGTERM), [kill (SIGKILL)], die, stop; a stop event may fall outside the window.
    return before.some((event) => event.action === 'kill' && event.attributes.signal === '15')
      ? 'stopped by docker stop'
      : 'killed by docker kill';
  }
  return 'crashed';
}
