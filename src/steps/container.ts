import { z } from 'zod';
import type { ContainerDetails, RestartPolicy } from '../docker/index.js';
import { formatDuration } from '../duration.js';
import { liftHold, recordHold } from './hold.js';
import { boundedSignal, flag, graceSeconds, optionalText } from './inputs.js';
import { defineStep, type StepContext } from './types.js';

/**
 * Container state changes: pause, unpause, stop, restart, commit, and a read-only report of how a
 * container has been dying. Each looks before it acts, so a second run succeeds and says
 * "already so" instead of failing on the engine's "is already paused" or 304.
 */

/** What undoing a pause or stop takes: the state the container was in (and the restart policy a stop replaced). */
export interface StateUndo {
  previous: 'running' | 'paused' | 'stopped';
  restartPolicy?: RestartPolicy;
  /** A stop of a paused container thawed it first, so that it could honour SIGTERM. */
  unpaused?: boolean;
}

const noInput = z.object({}).strict();
const inspect = (ctx: StepContext) => ctx.engine.containers.inspect(ctx.target.id, ctx.signal);
/** Status words of a container that has no process: stop has nothing left to do. */
const stoppedStatuses = new Set(['created', 'exited', 'dead']);

export const pauseStep = defineStep({
  type: 'container.pause',
  description: 'Freeze every process of the container (cgroup freezer); memory, files and connections stay as they are',
  input: noInput,
  outputs: ['status'],
  timeout: 15_000,
  mutates: true,
  plan: () => 'pause (freeze) every process of the container',
  async run(ctx) {
    const before = await inspect(ctx);
    if (before.state.paused) return { changed: false, outputs: { status: 'paused' }, note: 'already paused' };
    if (!before.state.running)
      throw new Error(`cannot pause a container that is ${before.state.status}; only a running one`);
    await tolerate(/already paused/i, () => ctx.engine.containers.pause(ctx.target.id, ctx.signal));
    const undo: StateUndo = { previous: 'running' };
    return { changed: true, undo, outputs: { status: 'paused' }, note: `paused${await recordHold(ctx, 'paused')}` };
  },
});

export const unpauseStep = defineStep({
  type: 'container.unpause',
  description: 'Thaw a paused container',
  input: noInput,
  outputs: ['status'],
  timeout: 15_000,
  mutates: true,
  plan: () => 'unpause (thaw) the container',
  async run(ctx) {
    const before = await inspect(ctx);
    if (!before.state.paused) {
      const lifted = await liftHold(ctx, 'paused');
      return {
        changed: false,
        outputs: { status: before.state.status },
        note: `not paused (${before.state.status})${lifted}`,
      };
    }
    await tolerate(/is not paused/i, () => ctx.engine.containers.unpause(ctx.target.id, ctx.signal));
    const undo: StateUndo = { previous: 'paused' };
    return { changed: true, undo, outputs: { status: 'running' }, note: `unpaused${await liftHold(ctx, 'paused')}` };
  },
});

/** Grace plus this long for the engine to deliver SIGKILL and reap: past it the engine is wedged. */
const killMarginMs = 30_000;

export const stopStep = defineStep({
  type: 'container.stop',
  description:
    'Stop the container: SIGTERM (or its StopSignal), then SIGKILL after the grace period; records the exit code',
  input: z
    .object({
      grace: graceSeconds,
      // `always` and `on-failure` (a SIGTERM or SIGKILL exit is a failure) bring a stopped container
      // back when the engine restarts; a quarantined one must stay down, so its policy becomes `no`.
      'keep-stopped': flag(false),
    })
    .strict(),
  outputs: ['exit-code', 'status'],
  // The step bounds its own wait by the grace it was given (see killMarginMs); this is the ceiling.
  timeout: 6 * 60_000,
  mutates: true,
  plan: ({ grace, 'keep-stopped': keep }) =>
    `stop: SIGTERM, then SIGKILL after ${grace}s${keep ? '; restart policy set to no, so an engine restart does not start it' : ''}`,
  async run(ctx, { grace, 'keep-stopped': keep }) {
    const before = await inspect(ctx);
    const policy = keep && before.restartPolicy.name !== 'no' ? before.restartPolicy : undefined;
    // Policy first: a container that dies between the two calls must not be restarted by it.
    if (policy)
      await ctx.engine.containers.setRestartPolicy(ctx.target.id, { name: 'no', maximumRetryCount: 0 }, ctx.signal);
    const policyNote = policy ? `; restart policy ${policy.name} -> no` : '';
    const undo: StateUndo = {
      previous: stoppedStatuses.has(before.state.status) ? 'stopped' : before.state.paused ? 'paused' : 'running',
      ...(policy ? { restartPolicy: policy } : {}),
    };
    // keep-stopped is quarantine's stop: firebreak holds the container down from here on.
    const held = keep ? await recordHold(ctx, 'quarantined') : '';
    if (stoppedStatuses.has(before.state.status)) {
      return {
        changed: Boolean(policy),
        ...(policy ? { undo } : {}),
        outputs: { 'exit-code': before.state.exitCode, status: before.state.status },
        note: `already stopped (${before.state.status}, exit code ${before.state.exitCode})${policyNote}${held}`,
      };
    }
    // A frozen process cannot run its SIGTERM handler: stopped while paused, it would sit out the
    // whole grace and die by SIGKILL, whatever it would have done. Thawed first, it stops as asked.
    // It runs for the moment between the two calls, which SIGTERM would give it anyway.
    if (before.state.paused) {
      await tolerate(/is not paused/i, () => ctx.engine.containers.unpause(ctx.target.id, ctx.signal));
      undo.unpaused = true;
    }
    const started = Date.now();
    await tolerate(/already stopped|not running/i, () =>
      withKillMargin(ctx, grace, (signal) => ctx.engine.containers.stop(ctx.target.id, grace, signal)),
    );
    const elapsed = Date.now() - started;
    const after = await inspect(ctx);
    const killed = after.state.exitCode === 137 && elapsed >= grace * 1000;
    return {
      changed: true,
      undo,
      outputs: { 'exit-code': after.state.exitCode, status: after.state.status },
      note:
        (undo.unpaused ? 'unpaused (it was paused), then ' : '') +
        `stopped in ${formatDuration(elapsed)}, exit code ${after.state.exitCode}` +
        (killed ? ` (SIGKILL: still running ${grace}s after SIGTERM)` : '') +
        policyNote +
        held,
    };
  },
});

/** A stop or restart bounded by its grace plus killMarginMs, failing with a message that says so. */
async function withKillMargin(
  ctx: StepContext,
  grace: number,
  action: (signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const limit = grace * 1000 + killMarginMs;
  const signal = boundedSignal(ctx.signal, limit);
  try {
    await action(signal);
  } catch (error) {
    if (signal.aborted && !ctx.signal.aborted) {
      throw new Error(
        `the engine had not stopped the container ${formatDuration(limit)} after SIGTERM (grace ${grace}s)`,
      );
    }
    throw error;
  }
}

export const restartStep = defineStep({
  type: 'container.restart',
  description: 'Restart the container: stop (SIGTERM, SIGKILL after the grace period), then start',
  input: z.object({ grace: graceSeconds }).strict(),
  outputs: ['status', 'started-at'],
  timeout: 6 * 60_000,
  mutates: true,
  plan: ({ grace }) => `restart (stop with ${grace}s grace, then start)`,
  async run(ctx, { grace }) {
    const before = await inspect(ctx);
    // As for stop: a frozen process cannot run its SIGTERM handler, so it is thawed first.
    if (before.state.paused)
      await tolerate(/is not paused/i, () => ctx.engine.containers.unpause(ctx.target.id, ctx.signal));
    await withKillMargin(ctx, grace, (signal) => ctx.engine.containers.restart(ctx.target.id, grace, signal));
    const after = await inspect(ctx);
    return {
      changed: true,
      outputs: { status: after.state.status, 'started-at': after.state.startedAt },
      note: `${before.state.paused ? 'unpaused, then ' : ''}restarted (was ${before.state.status}); ${after.state.status} since ${after.state.startedAt}`,
    };
  },
});

export interface CommitUndo {
  image: string;
}

export const commitStep = defineStep({
  type: 'container.commit',
  description:
    "Preserve the container's filesystem as an image labelled with the incident (volumes are not part of an image: see volume.backup)",
  input: z
    .object({
      comment: optionalText,
      // Frozen while the layer is copied, as `docker commit` does: a filesystem caught mid-write is poor evidence.
      pause: flag(true),
      labels: z.record(z.string(), z.string()).default({}),
    })
    .strict(),
  outputs: ['image'],
  timeout: 10 * 60_000,
  mutates: true,
  plan: ({ pause }) =>
    `commit the filesystem to an image labelled firebreak.incident${pause ? ' (paused while copying)' : ''}`,
  async run(ctx, { comment, pause, labels }) {
    const details = await inspect(ctx);
    const earlier = await unchangedCommit(ctx, details);
    if (earlier) {
      return {
        changed: false,
        outputs: { image: earlier },
        note: `already committed as ${short(earlier)} (the container has not run since)`,
      };
    }
    const commit = {
      comment: comment ?? `firebreak: filesystem of ${details.name} preserved for incident ${ctx.incident}`,
      pause,
      labels: {
        ...labels,
        'firebreak.incident': ctx.incident,
        'firebreak.container': details.id,
        'firebreak.container-name': details.name,
        'firebreak.run': ctx.runId,
      },
    };
    const image = await ctx.engine.containers.commit(ctx.target.id, commit, ctx.signal);
    const undo: CommitUndo = { image };
    return { changed: true, undo, outputs: { image }, note: `committed as ${short(image)}` };
  },
});

/**
 * The image this incident already committed from this container after it stopped: the filesystem
 * cannot have changed since, so a second commit would only add a copy. A commit taken while it ran
 * (quarantine commits before it stops) does not count: what a process wrote on SIGTERM, a cleanup
 * handler wiping its traces for one, is evidence too, and only a commit of the stopped container has it.
 */
async function unchangedCommit(ctx: StepContext, details: ContainerDetails): Promise<string | undefined> {
  if (details.state.running || details.state.paused || details.state.restarting) return undefined;
  const [newest] = await ctx.engine.images.list(
    { label: [`firebreak.container=${details.id}`, `firebreak.incident=${ctx.incident}`] },
    ctx.signal,
  );
  if (!newest) return undefined;
  // The list gives whole seconds; the image's own inspect has the nanoseconds to compare with FinishedAt.
  const created = Date.parse((await ctx.engine.images.inspect(newest.id, ctx.signal)).created);
  const finished = details.state.finishedAt ? Date.parse(details.state.finishedAt) : 0;
  return created > finished ? newest.id : undefined;
}

export const reportStep = defineStep({
  type: 'container.report',
  description: 'Report how the container has been dying: restart policy, restart count, recent exit codes, OOM kill',
  input: noInput,
  outputs: ['status', 'restart-policy', 'restart-count', 'exit-code', 'exit-codes', 'oom-killed', 'finished-at'],
  timeout: 10_000,
  mutates: false,
  plan: () => 'report the restart policy, restart count and recent exit codes',
  async run(ctx) {
    const [{ state, restartPolicy }, deaths] = await Promise.all([
      inspect(ctx),
      ctx.engine.containers.deaths(ctx.target.id, ctx.signal),
    ]);
    const policy =
      restartPolicy.name === 'on-failure' && restartPolicy.maximumRetryCount
        ? `on-failure:${restartPolicy.maximumRetryCount}`
        : restartPolicy.name;
    // Between two crashes a restarted container is "running" with exit code 0: the last death is the answer then.
    const exitCode = state.running && deaths.length ? deaths[deaths.length - 1]!.exitCode : state.exitCode;
    const codes = deaths.map((d) => d.exitCode);
    return {
      outputs: {
        status: state.status,
        'restart-policy': policy,
        'restart-count': state.restartCount,
        'exit-code': exitCode,
        'exit-codes': codes,
        'oom-killed': state.oomKilled,
        'finished-at': state.finishedAt,
      },
      note:
        `${state.status}; restart policy ${policy}, restarted ${state.restartCount} times, last exit code ${exitCode}` +
        `${state.oomKilled ? ' (OOM-killed)' : ''}${codes.length ? `; recent exit codes ${summarise(codes)}` : ''}`,
    };
  },
});

/** [3, 3, 3, 137] -> "3 x3, 137": a crash loop repeats itself. */
function summarise(codes: number[]): string {
  const runs: Array<[number, number]> = [];
  for (const code of codes) {
    const last = runs[runs.length - 1];
    if (last && last[0] === code) last[1]++;
    else runs.push([code, 1]);
  }
  return runs.map(([code, n]) => (n > 1 ? `${code} x${n}` : `${code}`)).join(', ');
}

/** Run an action; an engine refusal matching `already` means someone got there first: the state is as asked. */
async function tolerate(already: RegExp, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    const { statusCode, message } = error as { statusCode?: number; message: string };
    if (statusCode === 304 || already.test(message)) return;
    throw error;
  }
}

function short(image: string): string {
  return image.replace(/^sha256:/, '').slice(0, 12);
}
