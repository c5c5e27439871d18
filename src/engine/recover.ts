/**
 * `firebreak recover`: which containers need recovering, which must be left alone (leave-alone.ts),
 * and one auto-recover run, with its own bundle, for each of the rest. Fit for cron: one pass,
 * then an answer per container and an exit code (0 all recovered or none needed it, 1 otherwise).
 */
import {
  openEngine,
  parseFilters,
  resolveTargets,
  type ContainerDetails,
  type Engine,
  type Target,
} from '../docker/index.js';
import { ExitCode, NoTargetError, UsageError, messageOf } from '../errors.js';
import type { StepRecord } from '../evidence/record.js';
import type { LogLevel } from '../log.js';
import { whyLeaveAlone } from './leave-alone.js';
import { mapLimit, type Progress } from './progress.js';
import { tailorAutoRecover, type RecoverAction, type RecoverPolicy } from './recover-playbook.js';
import type { RunOutcome } from './request.js';
import { retryDelay } from './retry.js';
import { runPlaybook } from './run.js';

export interface RecoverRequest extends RecoverPolicy {
  references: string[];
  /** Every container the engine reports unhealthy (with `filters`), instead of named ones. */
  unhealthy: boolean;
  filters: string[];
  force: boolean;
  healthTimeout: string;
  grace: string;
  host?: string;
  context?: string;
  evidenceDir: string;
  incident?: string;
  compression: 'gzip' | 'none';
  logLevel: LogLevel;
  concurrency: number;
  signal: AbortSignal;
  progress: () => Progress;
  onNotice?: (message: string) => void;
}

export type RecoverStatus = 'succeeded' | 'failed' | 'skipped' | 'aborted' | 'warning';

export interface ContainerRecovery {
  id: string;
  name: string;
  status: RecoverStatus;
  /** For skipped: why it was left alone, or why it needed nothing. */
  reason?: string;
  action?: RecoverAction;
  before: HealthView;
  after?: HealthView;
  /** Restart-and-wait attempts made. */
  attempts?: number;
  /** The waits between attempts, in milliseconds, as the retry policy gave them. */
  delaysMs?: number[];
  bundle?: string;
  runId?: string;
  incident?: string;
  error?: string;
}

export interface HealthView {
  state: string;
  health: string;
}

export interface RecoverOutcome {
  schema: 'firebreak.recover/v1';
  status: 'succeeded' | 'failed' | 'aborted';
  exitCode: ExitCode;
  mode: 'named' | 'unhealthy';
  action: RecoverAction;
  retry: { retries: number; delay: string; backoff: string; maxDelay: string };
  containers: ContainerRecovery[];
}

export async function recoverContainers(request: RecoverRequest): Promise<RecoverOutcome> {
  if (request.unhealthy && request.references.length > 0)
    throw new UsageError('--unhealthy picks the containers itself: name none, or leave out --unhealthy');
  if (!request.unhealthy && request.references.length === 0 && request.filters.length === 0)
    throw new UsageError('name at least one container, select with --filter, or give --unhealthy');
  // Tailored (and its flags checked) before anything is asked of the engine: bad input is exit 2 at once.
  const playbook = tailorAutoRecover(request);
  const engine = await openEngine({ host: request.host, context: request.context });
  const named = new Set(request.references.length > 0 ? await namedIds(engine, request) : []);
  const candidates = await findCandidates(engine, request);
  const results = await mapLimit(candidates, request.concurrency, async (target) => {
    const details = await engine.containers.inspect(target.id, request.signal);
    const before = view(details);
    const base = { id: details.id, name: details.name, before };
    const forced = request.force && named.has(details.id);
    const leave = forced ? undefined : await whyLeaveAlone({ ...request, engine, signal: request.signal }, details);
    if (leave) return { ...base, status: 'skipped' as const, reason: leave };
    const need = needsRecovery(details);
    if (!need)
      return {
        ...base,
        status: 'skipped' as const,
        reason: `${before.state}, ${before.health === 'none' ? 'no healthcheck' : before.health}: nothing to recover`,
      };
    return recoverOne(request, engine, playbook, target, base);
  });
  const status = request.signal.aborted
    ? 'aborted'
    : results.some((r) => r.status === 'failed' || r.status === 'aborted')
      ? 'failed'
      : 'succeeded';
  return {
    schema: 'firebreak.recover/v1',
    status,
    exitCode: status === 'aborted' ? ExitCode.interrupted : status === 'failed' ? ExitCode.stepFailed : ExitCode.ok,
    mode: request.unhealthy ? 'unhealthy' : 'named',
    action: request.action,
    retry: { retries: request.retries, delay: request.delay, backoff: request.backoff, maxDelay: request.maxDelay },
    containers: results,
  };
}

async function namedIds(engine: Engine, request: RecoverRequest): Promise<string[]> {
  const found = await resolveTargets(engine, { references: request.references, filters: {} }, request.signal);
  return found.map((t) => t.id);
}

/** Named containers (and --filter), or every container the engine reports unhealthy: none is a fine answer then. */
async function findCandidates(engine: Engine, request: RecoverRequest): Promise<Target[]> {
  const filters = parseFilters(request.unhealthy ? [...request.filters, 'health=unhealthy'] : request.filters);
  try {
    return await resolveTargets(engine, { references: request.references, filters }, request.signal);
  } catch (error) {
    if (request.unhealthy && error instanceof NoTargetError) return [];
    throw error;
  }
}

/**
 * Unhealthy while running, or dead without anyone having stopped it (leave-alone.ts told those
 * apart before this is asked). A container that is still `starting` is given its chance.
 */
function needsRecovery(details: ContainerDetails): boolean {
  const { state } = details;
  if (state.running) return state.health === 'unhealthy';
  return state.status === 'exited' || state.status === 'dead';
}

async function recoverOne(
  request: RecoverRequest,
  engine: Engine,
  playbook: ReturnType<typeof tailorAutoRecover>,
  target: Target,
  base: Pick<ContainerRecovery, 'id' | 'name' | 'before'>,
): Promise<ContainerRecovery> {
  let outcome: RunOutcome;
  try {
    outcome = await runPlaybook({
      playbook,
      params: { 'health-timeout': request.healthTimeout, grace: request.grace },
      paramFlags: { 'health-timeout': '--health-timeout', grace: '--grace' },
      references: [target.id],
      filters: [],
      host: request.host,
      evidenceDir: request.evidenceDir,
      ...(request.incident ? { incident: request.incident } : {}),
      dryRun: false,
      concurrency: 1,
      compression: request.compression,
      logLevel: request.logLevel,
      signal: request.signal,
      progress: request.progress(),
      ...(request.onNotice ? { onNotice: request.onNotice } : {}),
    });
  } catch (error) {
    if (error instanceof UsageError) throw error;
    return { ...base, status: 'failed', action: request.action, error: messageOf(error) };
  }
  const after = await afterView(engine, target.id);
  const record = outcome.record?.targets[0];
  const group = record?.steps.find((s) => s.id === 'recover');
  const failedStep = record && [...record.steps].find((s) => s.status === 'failed' && !s.continueOnError);
  const status: RecoverStatus =
    outcome.status === 'aborted'
      ? 'aborted'
      : outcome.exitCode !== ExitCode.ok && failedStep
        ? 'failed'
        : request.action === 'none'
          ? 'warning'
          : 'succeeded';
  return {
    ...base,
    status,
    action: request.action,
    ...(after ? { after } : {}),
    ...(group ? { attempts: group.attempts, delaysMs: delaysOf(group, request) } : {}),
    ...(outcome.bundle ? { bundle: outcome.bundle.path } : {}),
    runId: outcome.runId,
    incident: outcome.incident,
    ...(failedStep?.error ? { error: failedStep.error } : {}),
    ...(request.action === 'none' && status === 'warning'
      ? { reason: 'evidence kept and alert sent; nothing changed (--action none)' }
      : {}),
  };
}

/** The waits the group really took, from its record; the policy's numbers when it kept none. */
function delaysOf(group: StepRecord, request: RecoverRequest): number[] {
  if (group.tries) return group.tries.filter((t) => t.delayMs !== undefined).map((t) => t.delayMs!);
  const policy = tailorRetry(request);
  return Array.from({ length: Math.max(0, group.attempts - 1) }, (_, i) => retryDelay(policy, i + 1));
}

function tailorRetry(request: RecoverRequest) {
  return {
    attempts: request.retries + 1,
    delay: request.delay,
    backoff: request.backoff,
    'max-delay': request.maxDelay,
  };
}

async function afterView(engine: Engine, id: string): Promise<HealthView | undefined> {
  try {
    return view(await engine.containers.inspect(id));
  } catch {
    // Gone, or the engine with it: the run's own record says what happened.
    return undefined;
  }
}

function view(details: ContainerDetails): HealthView {
  const { state } = details;
  return {
    state: state.paused ? 'paused' : state.status,
    health: details.hasHealthcheck ? (state.health ?? 'starting') : 'none',
  };
}
