/**
 * `firebreak watch`: follow the engine's container events and run the recovery playbook on a
 * container that turns unhealthy (after --unhealthy-for) or keeps dying (--crash-count within
 * --window). One run per container at a time, --max-parallel in all, a persisted circuit breaker
 * per container, and never a container that an operator stopped, paused or told firebreak to
 * ignore. Each recovery is a playbook run with its own bundle.
 */
import { openEngine, parseFilters, type ContainerDetails, type Engine, type LiveEvent } from '../../docker/index.js';
import { formatDuration } from '../../duration.js';
import { InterruptedError, messageOf } from '../../errors.js';
import { prepareEvidenceFolder } from '../../evidence/folder.js';
import { holdInForce, ignoreLabel, whyLeaveAlone } from '../leave-alone.js';
import { holdsOn } from '../../evidence/holds.js';
import { loadPlaybook } from '../loader.js';
import { resolveParams } from '../params.js';
import { sleep } from '../retry.js';
import { Activity } from './activity.js';
import { Breakers } from './breaker.js';
import { followForever } from './follower.js';
import { startHeartbeat } from './heartbeat.js';
import { endedEvent, runOn, type Container } from './recovery.js';
import type { WatchEvent, WatchRequest } from './request.js';
import { Slots } from './slots.js';

export interface WatchOutcome {
  recoveries: number;
  failed: number;
}

type Cause = 'unhealthy' | 'crash' | 'recheck';

/** After the grace, aborted runs still finalise their bundles; past this they are left as debris. */
const finaliseMs = 30_000;

export async function runWatch(request: WatchRequest): Promise<WatchOutcome> {
  // Everything that can be bad input is checked before the first event: exit 2, not a failed recovery later.
  const playbook = typeof request.playbook === 'string' ? loadPlaybook(request.playbook) : request.playbook;
  const params = resolveParams(playbook, request.params, request.paramFlags);
  const filters = parseFilters(request.filters);
  const labels = [...request.labels, ...(filters.label ?? [])];
  const { label: _labels, ...otherFilters } = filters;
  await prepareEvidenceFolder(request.evidenceDir);
  const engine = await openEngine({ host: request.host, context: request.context });
  let engineId = (await engine.system.identity(request.signal)).id;
  let breakers = new Breakers(request.evidenceDir, engineId, request.maxRecoveries, request.windowMs);

  const emit = request.onEvent;
  const activity = new Activity(request.crashCount, request.windowMs);
  const slots = new Slots(request.maxParallel);
  const pending = new Map<string, NodeJS.Timeout>();
  // Aborts running playbooks: when the grace after the stop signal ends, or on a second signal.
  const runs = new AbortController();
  request.hardSignal?.addEventListener('abort', () => runs.abort(request.hardSignal!.reason), { once: true });
  const tally: WatchOutcome = { recoveries: 0, failed: 0 };
  let connected = false;
  const stopHeartbeat = request.healthFile ? startHeartbeat(request.healthFile, () => ({ connected })) : () => {};

  const schedule = (container: Container, cause: Cause, reason: string, waitMs: number) => {
    if (request.signal.aborted || pending.has(container.id)) return;
    if (waitMs <= 0) return submit(container, cause, reason);
    emit({
      kind: 'trigger',
      level: 'info',
      container,
      reason,
      message: `${container.name}: ${reason}; acting if still so in ${formatDuration(waitMs)}`,
    });
    pending.set(
      container.id,
      setTimeout(() => {
        pending.delete(container.id);
        submit(container, cause, `${reason} for ${formatDuration(waitMs)}`);
      }, waitMs),
    );
  };
  const cancel = (id: string) => {
    clearTimeout(pending.get(id));
    pending.delete(id);
  };
  const submit = (container: Container, cause: Cause, reason: string) => {
    if (request.signal.aborted) return;
    const queued = slots.submit(container.id, () =>
      act(container, cause, reason).catch((error: unknown) =>
        emit({ kind: 'notice', level: 'error', container, reason, message: `${container.name}: ${messageOf(error)}` }),
      ),
    );
    if (!queued)
      emit({
        kind: 'trigger',
        level: 'debug',
        container,
        reason,
        message: `${container.name}: ${reason}; already on it`,
      });
  };

  const act = async (container: Container, cause: Cause, reason: string): Promise<void> => {
    if (request.signal.aborted) return;
    const details = await engine.containers.inspect(container.id, request.signal).catch(() => undefined);
    if (!details) return;
    const named = { id: details.id, name: details.name };
    const unhealthy = details.state.running && details.state.health === 'unhealthy';
    if (cause !== 'crash' && !unhealthy) {
      const now = details.state.running ? (details.state.health ?? 'running') : details.state.status;
      emit({ kind: 'skipped', level: 'debug', container: named, reason, message: `${named.name}: ${now} now` });
      return;
    }
    // What the stream showed (an operator's kill before the death) first, then what the engine and the holds say.
    // A death the stream showed with no kill before it is a crash, whatever the engine's 256-event
    // memory still holds (healthcheck execs churn it): only the label, a pause and holds count then.
    const why =
      activity.stoppedOnPurpose(details.id) ??
      (cause === 'crash'
        ? await whyLeaveCrashedAlone(engine, request.evidenceDir, details)
        : await whyLeaveAlone({ engine, evidenceDir: request.evidenceDir, signal: request.signal }, details));
    if (why) {
      emit({
        kind: 'skipped',
        level: 'info',
        container: named,
        reason,
        status: 'skipped',
        message: `${named.name}: skipped: ${why}`,
      });
      return;
    }
    if (Object.keys(otherFilters).length > 0) {
      const rows = await engine.containers.list({ ...otherFilters, id: [details.id] }, true, request.signal);
      if (rows.length === 0) return;
    }
    const verdict = await breakers.check(named);
    if (verdict.open) {
      if (verdict.opened) await escalate(named, verdict.recent, verdict.until);
      else
        emit({
          kind: 'skipped',
          level: 'info',
          container: named,
          reason,
          status: 'skipped',
          until: verdict.until.toISOString(),
          message: `${named.name}: skipped: breaker open until ${verdict.until.toISOString()} (${reason})`,
        });
      recheckAt(named, verdict.until);
      return;
    }
    await breakers.record(named);
    activity.beginOwn(named.id);
    emit({
      kind: 'recovery-started',
      level: 'info',
      container: named,
      reason,
      playbook: playbook.name,
      message: `${named.name}: ${reason}; recovering (${playbook.name}, ${verdict.recent + 1} of ${request.maxRecoveries} in ${formatDuration(request.windowMs)})`,
    });
    const result = await runOn(request, named, playbook, params, runs.signal, request.paramFlags).finally(() =>
      activity.endOwn(named.id),
    );
    const ended = endedEvent(named, 'recovery', result, 'recovery-ended');
    tally.recoveries++;
    if (ended.status !== 'succeeded') tally.failed++;
    emit({ ...ended, reason });
    // Its health may have changed while the run held it; no event will say so again.
    setTimeout(() => void lookAgain(named), 100);
  };

  const lookAgain = async (container: Container) => {
    if (request.signal.aborted) return;
    const details = await engine.containers.inspect(container.id, request.signal).catch(() => undefined);
    if (details?.state.running && details.state.health === 'unhealthy')
      schedule(container, 'unhealthy', 'unhealthy after its recovery', request.unhealthyForMs);
  };

  const escalate = async (container: Container, recent: number, until: Date) => {
    const why = `was recovered ${recent} times within ${formatDuration(request.windowMs)}`;
    emit({
      kind: 'breaker-open',
      level: 'warn',
      container,
      until: until.toISOString(),
      message: `${container.name}: breaker open: ${why}; alerting${request.quarantineOnFailure ? ' and quarantining' : ''}, then leaving it alone until ${until.toISOString()}`,
    });
    const alert = await runOn(request, container, 'watch-breaker', { reason: why }, runs.signal);
    emit(endedEvent(container, 'escalation', alert, 'escalated'));
    if (request.quarantineOnFailure) {
      activity.beginOwn(container.id);
      const quarantine = await runOn(request, container, 'quarantine', {}, runs.signal).finally(() =>
        activity.endOwn(container.id),
      );
      emit(endedEvent(container, 'quarantine', quarantine, 'escalated'));
    }
  };

  // Health events fire only on a change: a container still unhealthy when its breaker closes sends none.
  const recheckAt = (container: Container, until: Date) => {
    if (pending.has(container.id)) return;
    const waitMs = Math.max(0, until.getTime() - Date.now()) + 1000;
    pending.set(
      container.id,
      setTimeout(() => {
        pending.delete(container.id);
        submit(container, 'recheck', 'still unhealthy when its breaker closed');
      }, waitMs),
    );
  };

  const relist = async (again: boolean) => {
    const id = (await engine.system.identity(request.signal)).id;
    if (id !== engineId) {
      engineId = id;
      breakers = new Breakers(request.evidenceDir, engineId, request.maxRecoveries, request.windowMs);
    }
    const rows = await engine.containers.list(
      { ...otherFilters, ...(labels.length ? { label: labels } : {}), health: ['unhealthy'] },
      false,
      request.signal,
    );
    connected = true;
    emit({
      kind: 'connected',
      level: 'info',
      engine: { endpoint: engine.endpoint.label, id: engineId },
      message: `${again ? 'reconnected to' : 'following'} ${engine.endpoint.label}; ${rows.length} unhealthy container${rows.length === 1 ? '' : 's'} now`,
    });
    for (const row of rows) {
      const container = { id: row.id, name: row.names[0] ?? row.id.slice(0, 12) };
      schedule(container, 'unhealthy', 'unhealthy when listed', request.unhealthyForMs);
    }
  };

  const onEvent = (event: LiveEvent) => {
    if (request.signal.aborted) return;
    const container = { id: event.container, name: event.name };
    if (event.action === 'health_status') {
      // Not filtered as watch's own: a container in recovery is busy anyway, and one unhealthy
      // right after is a new failure (checked again when its run ends, as that event may have come mid-run).
      if (event.health === 'unhealthy')
        schedule(container, 'unhealthy', 'health_status: unhealthy', request.unhealthyForMs);
      else cancel(event.container);
      return;
    }
    if (event.action === 'die') cancel(event.container);
    const reading = activity.read(event);
    if (reading.kind === 'operator' && request.crashCount > 0)
      emit({
        kind: 'skipped',
        level: 'info',
        container,
        status: 'skipped',
        message: `${event.name}: skipped: ${reading.why}`,
      });
    else if (reading.kind === 'died')
      emit({ kind: 'trigger', level: 'info', container, message: `${event.name}: ${reading.reason}` });
    else if (reading.kind === 'crash') submit(container, 'crash', reading.reason);
  };

  emit({
    kind: 'started',
    level: 'info',
    playbook: playbook.name,
    engine: { endpoint: engine.endpoint.label, id: engineId },
    message: `watching ${engine.endpoint.label} (engine ${engineId}): ${describeWhen(request)}; playbook ${playbook.name}${labels.length || Object.keys(otherFilters).length ? `; only ${[...labels.map((l) => `label=${l}`), ...request.filters.filter((f) => !f.startsWith('label='))].join(', ')}` : ''}`,
  });
  try {
    await followForever(
      engine,
      { labels, signal: request.signal },
      {
        connected: relist,
        event: onEvent,
        disconnected: (problem, retryInMs) => {
          connected = false;
          emit({
            kind: 'disconnected',
            level: 'warn',
            message: `${problem}; reconnecting in ${formatDuration(retryInMs)}`,
          });
        },
        badLine: (problem) => emit({ kind: 'notice', level: 'warn', message: `event stream: ${problem}` }),
      },
    );
  } finally {
    for (const id of [...pending.keys()]) cancel(id);
    slots.dropQueued();
    await stopRuns(slots, runs, request, emit);
    stopHeartbeat();
  }
  emit({
    kind: 'stopped',
    level: 'info',
    message: `stopped: ${tally.recoveries} recover${tally.recoveries === 1 ? 'y' : 'ies'}, ${tally.failed} failed`,
  });
  return tally;
}

/** Lets running playbooks finish within the grace, then aborts them; their bundles are finalised either way. */
async function stopRuns(
  slots: Slots,
  runs: AbortController,
  request: WatchRequest,
  emit: (event: WatchEvent) => void,
): Promise<void> {
  if (slots.inFlight === 0) return;
  emit({
    kind: 'stopping',
    level: 'info',
    message: `stopping: waiting up to ${formatDuration(request.graceMs)} for ${slots.inFlight} running recover${slots.inFlight === 1 ? 'y' : 'ies'}`,
  });
  const drained = slots.drain().then(() => true);
  if (
    await Promise.race([
      drained,
      sleep(request.graceMs, runs.signal).then(
        () => false,
        () => false,
      ),
    ])
  )
    return;
  runs.abort(new InterruptedError(`watch stopped: the ${formatDuration(request.graceMs)} grace ended`));
  emit({
    kind: 'stopping',
    level: 'warn',
    message: 'grace ended: aborting running recoveries; finalising their bundles',
  });
  await Promise.race([drained, sleep(finaliseMs)]);
}

function describeWhen(request: WatchRequest): string {
  const unhealthy =
    request.unhealthyForMs > 0 ? `unhealthy for ${formatDuration(request.unhealthyForMs)}` : 'unhealthy';
  const crashes =
    request.crashCount > 0 ? ` or ${request.crashCount} deaths within ${formatDuration(request.windowMs)}` : '';
  return `acting on ${unhealthy}${crashes}; at most ${request.maxRecoveries} recoveries per container per ${formatDuration(request.windowMs)}`;
}

async function whyLeaveCrashedAlone(
  engine: Engine,
  evidenceDir: string,
  details: ContainerDetails,
): Promise<string | undefined> {
  if (details.labels[ignoreLabel] === 'true') return `labelled ${ignoreLabel}=true`;
  if (details.state.paused) return 'paused';
  const hold = holdInForce(await holdsOn(evidenceDir, (await engine.identity()).id, details.id), details);
  return hold ? `${hold.kind} by firebreak at ${hold.at}` : undefined;
}
