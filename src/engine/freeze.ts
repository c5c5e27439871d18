/**
 * --pause: freeze each target (cgroup freezer: its processes stop, nothing is killed) for the
 * length of its steps, so every read sees the same moment: no process exits between top and the
 * export, no file changes between diff and files. Top, stats, inspect, logs, diff, archive and
 * export all work on a paused container; exec does not.
 *
 * The unpause is in `finally` and has its own deadline, not the run's signal: after Ctrl-C, a
 * failed step or a timeout, the container must be running again as it was found.
 */
import type { Logger } from 'pino';
import type { Engine, Target } from '../docker/index.js';
import { EngineError, messageOf } from '../errors.js';
import type { StepRecord, TargetRecord } from '../evidence/record.js';
import { asStateChange } from './inflight.js';
import type { TargetHooks } from './runner.js';

const unpauseTimeoutMs = 15_000;

export interface FreezeRun {
  engine: Engine;
  target: Target;
  log: Logger;
  hooks: TargetHooks;
  signal: AbortSignal;
}

/**
 * Runs `work` with the target paused; the pause and the unpause are recorded as the target's
 * first and last steps (`freeze`, `thaw`). A container found paused or stopped is left as found.
 */
export async function withFreeze(
  enabled: boolean | undefined,
  run: FreezeRun,
  work: () => Promise<TargetRecord>,
): Promise<TargetRecord> {
  if (!enabled) return work();
  const freeze = await timed('freeze', 'container.pause', () => pause(run));
  run.hooks.stepFinished(freeze);
  log(run.log, freeze);
  let record: TargetRecord | undefined;
  try {
    record = await work();
  } finally {
    // Only what we paused is unpaused: a container someone else froze stays frozen.
    const thaw = freeze.changed
      ? await timed('thaw', 'container.unpause', () => unpause(run))
      : notNeeded('thaw', 'container.unpause', 'nothing to unpause: this run did not pause it');
    run.hooks.stepFinished(thaw);
    log(run.log, thaw);
    if (record) record = withSteps(record, freeze, thaw);
  }
  return record;
}

/**
 * A pause is a state change like any other: once asked, the engine may carry it out even if we
 * stop waiting, so Ctrl-C does not cut it short (it has its own deadline) and the thaw knows
 * whether there is something to undo. Cut short, it left the container paused and unrecorded.
 */
async function pause(run: FreezeRun): Promise<Omit<StepRecord, 'id' | 'uses' | 'attempts'>> {
  if (run.signal.aborted) return { status: 'aborted', note: 'not paused: the run was interrupted' };
  try {
    await asStateChange(() => run.engine.containers.pause(run.target.id, AbortSignal.timeout(unpauseTimeoutMs)));
    return { status: 'succeeded', changed: true, note: 'paused: every step reads the same moment' };
  } catch (error) {
    // Idempotent: the state asked for (or one where it means nothing) is already there.
    if (conflict(error, /already paused/i))
      return { status: 'succeeded', changed: false, note: 'already paused by someone else; left paused afterwards' };
    if (conflict(error, /is not running/i))
      return { status: 'succeeded', changed: false, note: 'not running: nothing to freeze' };
    // No answer in time, yet the engine may have paused it: then it is ours to thaw.
    const now = await run.engine.containers
      .inspect(run.target.id, AbortSignal.timeout(unpauseTimeoutMs))
      .catch(() => undefined);
    if (now?.state.paused)
      return { status: 'succeeded', changed: true, note: `paused (the engine answered: ${messageOf(error)})` };
    return { status: 'failed', error: `${messageOf(error)}; collecting without a freeze` };
  }
}

async function unpause(run: FreezeRun): Promise<Omit<StepRecord, 'id' | 'uses' | 'attempts'>> {
  try {
    await run.engine.containers.unpause(run.target.id, AbortSignal.timeout(unpauseTimeoutMs));
    return { status: 'succeeded', changed: true, note: 'unpaused: running as it was found' };
  } catch (error) {
    if (conflict(error, /is not paused/i))
      return { status: 'succeeded', changed: false, note: 'already unpaused by someone else' };
    if (error instanceof EngineError && error.notFound)
      return { status: 'failed', error: `${messageOf(error)}: the container is gone` };
    // Only a container that is still paused needs the operator's hand; a stopped one has nothing to thaw.
    const now = await run.engine.containers
      .inspect(run.target.id, AbortSignal.timeout(unpauseTimeoutMs))
      .catch(() => undefined);
    if (now && !now.state.paused)
      return { status: 'succeeded', changed: false, note: `nothing to thaw: the container is ${now.state.status} now` };
    return {
      status: 'failed',
      error: `${messageOf(error)}; it is still paused: run \`docker unpause ${run.target.name}\``,
    };
  }
}

function conflict(error: unknown, pattern: RegExp): boolean {
  return error instanceof EngineError && error.statusCode === 409 && pattern.test(error.engineMessage);
}

async function timed(
  id: string,
  uses: string,
  act: () => Promise<Omit<StepRecord, 'id' | 'uses' | 'attempts'>>,
): Promise<StepRecord> {
  const started = new Date();
  const result = await act();
  const ended = new Date();
  return {
    id,
    uses,
    ...result,
    attempts: 1,
    startedAt: started.toISOString(),
    endedAt: ended.toISOString(),
    durationMs: ended.getTime() - started.getTime(),
  };
}

/** Idempotent, like every step: the state is already as the run leaves it. */
function notNeeded(id: string, uses: string, note: string): StepRecord {
  return { id, uses, status: 'succeeded', changed: false, attempts: 0, note };
}

/** A failed freeze or thaw fails the target: the snapshot was not consistent, or the container is left frozen. */
function withSteps(record: TargetRecord, freeze: StepRecord, thaw: StepRecord): TargetRecord {
  const failed = freeze.status === 'failed' || thaw.status === 'failed';
  const status = record.status === 'succeeded' && failed ? 'failed' : record.status;
  return { ...record, status, steps: [freeze, ...record.steps, thaw] };
}

function log(logger: Logger, step: StepRecord): void {
  logger[step.status === 'failed' ? 'error' : 'info'](
    { status: step.status, error: step.error, note: step.note },
    `${step.id} ${step.status}`,
  );
}
