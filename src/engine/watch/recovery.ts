/**
 * One recovery, or one escalation, of one container: a playbook run through the same runPlaybook
 * path as every command, so each gets its own bundle with the evidence taken before the restart.
 */
import { formatDuration } from '../../duration.js';
import { messageOf } from '../../errors.js';
import type { RunOutcome } from '../request.js';
import type { LoadedPlaybook } from '../playbook.js';
import { silentProgress } from '../progress.js';
import { runPlaybook } from '../run.js';
import type { WatchEvent, WatchRequest } from './request.js';

export interface Container {
  id: string;
  name: string;
}

/** Runs `playbook` on the container; never throws: a run that could not start is a failed recovery. */
export async function runOn(
  request: WatchRequest,
  container: Container,
  playbook: string | LoadedPlaybook,
  params: Record<string, unknown>,
  signal: AbortSignal,
  paramFlags?: Record<string, string>,
): Promise<{ outcome?: RunOutcome; error?: string; durationMs: number }> {
  const started = Date.now();
  try {
    const outcome = await runPlaybook({
      playbook,
      params,
      ...(paramFlags ? { paramFlags } : {}),
      references: [container.id],
      filters: [],
      host: request.host,
      evidenceDir: request.evidenceDir,
      dryRun: false,
      concurrency: 1,
      compression: request.compression,
      logLevel: request.logLevel,
      signal,
      progress: silentProgress,
      onNotice: (message) =>
        request.onEvent({ kind: 'notice', level: 'warn', message: message.replace(/^firebreak: /, ''), container }),
    });
    return { outcome, durationMs: Date.now() - started };
  } catch (error) {
    return { error: messageOf(error), durationMs: Date.now() - started };
  }
}

/** The line and fields that say how a run ended. */
export function endedEvent(
  container: Container,
  what: string,
  result: Awaited<ReturnType<typeof runOn>>,
  kind: 'recovery-ended' | 'escalated',
): WatchEvent {
  const { outcome, error, durationMs } = result;
  const status = outcome?.status === 'succeeded' ? 'succeeded' : outcome?.status === 'aborted' ? 'aborted' : 'failed';
  const problem = error ?? (status === 'succeeded' ? undefined : firstProblem(outcome));
  const bundle = outcome?.bundle ? { path: outcome.bundle.path, sha256: outcome.bundle.sha256 } : undefined;
  return {
    kind,
    level: status === 'succeeded' ? 'info' : 'error',
    message:
      `${container.name}: ${what} ${status} in ${formatDuration(durationMs)}` +
      (problem ? `: ${problem}` : '') +
      (bundle
        ? `; bundle ${bundle.path} sha256 ${bundle.sha256}`
        : outcome?.evidenceError
          ? `; ${outcome.evidenceError}`
          : ''),
    container,
    status,
    durationMs,
    ...(outcome ? { run: outcome.runId, incident: outcome.incident, playbook: outcome.playbook } : {}),
    ...(bundle ? { bundle } : {}),
  };
}

function firstProblem(outcome: RunOutcome | undefined): string | undefined {
  const target = outcome?.record?.targets?.[0] as
    { steps?: Array<{ id: string; status: string; error?: string }> } | undefined;
  const step = target?.steps?.find((s) => s.status === 'failed' || s.status === 'aborted');
  return step ? `${step.id}: ${step.error ?? step.status}` : outcome?.engineLost;
}
