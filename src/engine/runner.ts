import type { Logger } from 'pino';
import type { Engine, Target } from '../docker/index.js';
import { EngineError, EngineUnreachableError, StepError, messageOf } from '../errors.js';
import { asStateChange, notInterruptible } from './inflight.js';
import type { GroupTry, StepRecord, StepStatus, TargetRecord } from '../evidence/record.js';
import type { ArtifactSink, StepContext } from '../steps/types.js';
import { resolveInput } from './input.js';
import type { LoadedPlaybook, LoadedStep } from './playbook.js';
import { withRetry } from './retry.js';
import { templateScope } from './scope.js';
import type { TemplateScope } from './template.js';
import { withTimeout } from './timeout.js';

export interface TargetHooks {
  stepStarted(step: LoadedStep, attempt: number): void;
  stepFinished(record: StepRecord): void;
}

export interface TargetRun {
  engine: Engine;
  target: Target;
  playbook: LoadedPlaybook;
  params: Record<string, unknown>;
  incident: string;
  runId: string;
  runStartedAt: Date;
  evidenceDir: string;
  signal: AbortSignal;
  log: Logger;
  artifacts: ArtifactSink;
  hooks: TargetHooks;
}

/** Run the playbook's steps on one target, in order; a failure skips the rest and runs on-failure. */
export async function runTarget(run: TargetRun): Promise<TargetRecord> {
  const scope = templateScope(run);
  const { records, failed, tolerated } = await runSteps(run, run.playbook.steps, scope);
  const aborted = run.signal.aborted;
  let onFailure: StepRecord[] | undefined;
  // An interrupted run does not alert: the operator stopped it on purpose.
  if (failed && !aborted && run.playbook.onFailure.length > 0) {
    onFailure = (await runSteps(run, run.playbook.onFailure, scope)).records;
  }
  return {
    id: run.target.id,
    name: run.target.name,
    image: run.target.image,
    // A tolerated failure (continue-on-error) let the playbook go on, but a step still failed:
    // the target is `failed` and the run exits 1, so missing evidence never passes as success.
    status: aborted ? 'aborted' : failed || tolerated ? 'failed' : 'succeeded',
    steps: records,
    ...(onFailure ? { onFailure } : {}),
  };
}

async function runSteps(
  run: TargetRun,
  steps: readonly LoadedStep[],
  scope: TemplateScope,
): Promise<{ records: StepRecord[]; failed?: StepRecord; tolerated?: StepRecord }> {
  const records: StepRecord[] = [];
  let failed: StepRecord | undefined;
  let tolerated: StepRecord | undefined;
  for (const step of steps) {
    let record: StepRecord;
    if (run.signal.aborted) record = notRun(step, 'aborted', 'not run: the run was interrupted');
    else if (failed) record = notRun(step, 'skipped', `not run: step ${failed.id} failed`);
    else record = await runStep(run, step, scope);
    records.push(record);
    run.hooks.stepFinished(record);
    scope.steps[step.id] = { outputs: record.outputs ?? {} };
    if (record.status === 'failed' && !step.continueOnError) failed ??= record;
    if (record.status === 'failed' && step.continueOnError) tolerated ??= record;
  }
  return { records, failed, tolerated };
}

async function runStep(run: TargetRun, step: LoadedStep, scope: TemplateScope): Promise<StepRecord> {
  const started = new Date();
  const log = run.log.child({ step: step.id, uses: step.uses });
  const base = {
    id: step.id,
    uses: step.uses,
    ...(step.name ? { name: step.name } : {}),
    startedAt: started.toISOString(),
  };
  const finish = (fields: Partial<StepRecord> & { status: StepStatus; attempts: number }): StepRecord => {
    const ended = new Date();
    const record: StepRecord = {
      ...base,
      ...fields,
      endedAt: ended.toISOString(),
      durationMs: ended.getTime() - started.getTime(),
    };
    if (step.continueOnError) record.continueOnError = true;
    log[record.status === 'succeeded' ? 'info' : 'warn'](
      { status: record.status, durationMs: record.durationMs, error: record.error, note: record.note },
      `${step.id} ${record.status}`,
    );
    return record;
  };

  if (step.steps) return runGroup(run, step, scope, finish);

  let input: unknown;
  try {
    input = resolveInput(step, scope);
  } catch (error) {
    return finish({ status: 'failed', attempts: 0, error: failureMessage(error, step, run) });
  }
  // What a state change has done so far, recorded by the step before each action, so that an
  // interrupt or a failure halfway still leaves the undo data of what was changed.
  let undoSoFar: unknown;
  const recordUndo = (undo: unknown) => {
    undoSoFar = undo;
    // Also in the journal file, which survives a hard exit: `bundle recover` keeps it with the rest.
    log.info({ undo }, 'about to change state');
  };
  const mutates = step.type!.mutates;
  // Ctrl-C does not cut a state change short: it finishes (within its timeout) and is recorded,
  // and the run stops before the next step. Only evidence reads are abandoned at once.
  const parent = mutates ? notInterruptible : run.signal;
  const attemptOnce = (attempt: number) => {
    run.hooks.stepStarted(step, attempt);
    log.debug({ attempt, input }, 'attempt');
    return withTimeout(step.timeoutMs, parent, (signal) =>
      step.type!.run(stepContext(run, signal, log, recordUndo), input),
    );
  };
  try {
    const { value, attempts } = await withRetry(
      step.retry,
      run.signal,
      (attempt) => (mutates ? asStateChange(() => attemptOnce(attempt)) : attemptOnce(attempt)),
      (attempt, error, delayMs) => log.warn({ attempt, delayMs, error: messageOf(error) }, 'retrying'),
    );
    return finish({
      status: 'succeeded',
      attempts,
      input,
      ...(value.outputs ? { outputs: value.outputs } : {}),
      ...(value.undo !== undefined ? { undo: value.undo } : {}),
      ...(value.changed !== undefined ? { changed: value.changed } : {}),
      ...(value.note ? { note: value.note } : {}),
    });
  } catch (error) {
    const attempts = (error as { attempts?: number }).attempts ?? 1;
    const partial = undoSoFar !== undefined ? { undo: undoSoFar } : {};
    if (run.signal.aborted && !mutates) return finish({ status: 'aborted', attempts, input, error: 'interrupted' });
    // A step may say what it saw on the way to failing (health.wait: the probe log).
    const seen = (error as { outputs?: Record<string, unknown> }).outputs;
    const record = finish({
      status: run.signal.aborted ? 'aborted' : 'failed',
      attempts,
      input,
      error: failureMessage(error, step, run),
      ...(seen && typeof seen === 'object' ? { outputs: seen } : {}),
      ...partial,
    });
    failures.set(record, error);
    if (reachedNoEngine(error)) lostEngine.add(record);
    return record;
  }
}

/**
 * "network.disconnect on web-1: engine said: ..." : the step type, the container by name, then
 * the engine's own words; never a 64-character id a person has to match by eye.
 */
function failureMessage(error: unknown, step: LoadedStep, run: TargetRun): string {
  const said = error instanceof EngineError ? `engine said: ${error.engineMessage}` : messageOf(error);
  const named = said.split(run.target.id).join(run.target.name);
  return new StepError(step.uses, run.target.name, named).message;
}

/** The error behind each failed step record, for a group to pass on as its own error's cause. */
const failures = new WeakMap<StepRecord, unknown>();

/** Step records that failed because the engine stopped answering (see `failedForTheEngine`). */
const lostEngine = new WeakSet<StepRecord>();

/**
 * Whether this step failed because the Docker engine could not be reached or stopped answering
 * mid-call (a crash, a restart): the run then exits 3, not 1, since no step of the playbook was
 * at fault and the same run can complete once the engine is back.
 */
export function failedForTheEngine(record: StepRecord): boolean {
  return lostEngine.has(record);
}

function reachedNoEngine(error: unknown): boolean {
  for (
    let e = error, depth = 0;
    e && typeof e === 'object' && depth < 8;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    if (e instanceof EngineUnreachableError) return true;
  }
  return false;
}

async function runGroup(
  run: TargetRun,
  step: LoadedStep,
  scope: TemplateScope,
  finish: (fields: Partial<StepRecord> & { status: StepStatus; attempts: number }) => StepRecord,
): Promise<StepRecord> {
  let children: StepRecord[] = [];
  // Every attempt's times, and the wait after it: the children keep only the last attempt.
  const tries: GroupTry[] = [];
  const withTries = () => (step.retry ? { tries } : {});
  try {
    const { attempts } = await withRetry(
      step.retry,
      run.signal,
      async (attempt) => {
        run.hooks.stepStarted(step, attempt);
        const one: GroupTry = { attempt, startedAt: new Date().toISOString() };
        tries.push(one);
        try {
          const result = await withTimeout(step.timeoutMs, run.signal, () => runSteps(run, step.steps!, scope));
          children = result.records;
          // The child's own error rides along as the cause: a 404 inside a group is no more worth retrying than outside.
          if (result.failed) {
            one.error = `step ${result.failed.id} failed: ${result.failed.error}`;
            throw new Error(one.error, { cause: failures.get(result.failed) });
          }
        } finally {
          one.endedAt = new Date().toISOString();
        }
      },
      (attempt, _error, delayMs) => {
        const one = tries.find((t) => t.attempt === attempt);
        if (one) one.delayMs = delayMs;
      },
    );
    return finish({ status: 'succeeded', attempts, steps: children, note: `${children.length} steps`, ...withTries() });
  } catch (error) {
    const attempts = (error as { attempts?: number }).attempts ?? 1;
    const status = run.signal.aborted ? 'aborted' : 'failed';
    return finish({ status, attempts, steps: children, error: messageOf(error), ...withTries() });
  }
}

function notRun(step: LoadedStep, status: StepStatus, reason: string): StepRecord {
  return { id: step.id, uses: step.uses, status, attempts: 0, note: reason };
}

function stepContext(
  run: TargetRun,
  signal: AbortSignal,
  log: Logger,
  recordUndo: (undo: unknown) => void = () => {},
): StepContext {
  return {
    recordUndo,
    engine: run.engine,
    target: run.target,
    signal,
    log,
    artifacts: run.artifacts,
    incident: run.incident,
    playbook: run.playbook.name,
    evidenceDir: run.evidenceDir,
    runId: run.runId,
    runStartedAt: run.runStartedAt,
  };
}
