/**
 * The top of the report: what the run did to which container, the state it left each one in,
 * what is left to do, and the exact commands that undo each change still in place.
 */
import { entryName } from '../evidence/naming.js';
import { pendingUndo, shellWord, type PendingKind, type PendingUndo } from '../evidence/pending.js';
import { flattenSteps, type RunRecord, type StepRecord, type TargetRecord } from '../evidence/record.js';
import { maskText } from '../secrets.js';

export interface ReportSummary {
  /** One line per container: what the run did to it. */
  done: string[];
  /** One line per container: the state the run left it in. */
  state: string[];
  /** Steps that failed or were cut short: what to look at. */
  todo: string[];
  /** Changes of this run still in place, each with the command that undoes it. */
  undo: PendingUndo[];
  /** Other runs of the incident may have changed more: the command that shows them all. */
  incidentCommand: string;
}

const stateWords: Record<PendingKind, string> = {
  networks: 'cut off from its networks',
  limits: 'throttled',
  paused: 'paused',
  stopped: 'stopped',
};

// Steps that read or check and change nothing: counted as evidence, not listed as actions.
const readsOnly = /^(evidence|assert)\.|^(note|alert\.webhook|container\.report)$/;

/** `bundle` is the bundle's file when known (a report rendered from it), for the --from of undo commands. */
export function reportSummary(record: RunRecord, bundle?: string): ReportSummary {
  const undo = pendingUndo([{ record, ...(bundle ? { bundle } : {}) }]);
  return {
    done: record.targets.map((t) => `${t.name}: ${actions(record, t).join('; ')}`),
    state: record.targets.map((t) => `${t.name}: ${stateOf(t, undo)}`),
    todo: record.targets.flatMap(problems),
    undo,
    incidentCommand: `firebreak incident show ${shellWord(record.incident)}`,
  };
}

function actions(record: RunRecord, target: TargetRecord): string[] {
  const steps = flattenSteps([...target.steps, ...(target.onFailure ?? [])]);
  const changes = steps
    .filter((s) => !readsOnly.test(s.uses) && s.status === 'succeeded' && s.changed !== false && !s.steps)
    .map((s) => maskText(s.note ?? s.uses));
  const folder = `targets/${entryName(target.name)}/`;
  const kept = record.artifacts.filter((a) => a.path.startsWith(folder)).length;
  const parts = [...changes, ...(kept ? [`${kept} evidence file${kept === 1 ? '' : 's'} kept`] : [])];
  return parts.length ? parts : ['nothing changed and no evidence kept'];
}

function stateOf(target: TargetRecord, undo: readonly PendingUndo[]): string {
  const words = undo.filter((u) => u.containerId === target.id).map((u) => stateWords[u.kind]);
  const now = words.length ? words.join(', ') : 'no change of this run is still in place';
  return `${now} (run ${target.status})`;
}

function problems(target: TargetRecord): string[] {
  const bad = (s: StepRecord) => s.status === 'failed' || s.status === 'aborted';
  return flattenSteps([...target.steps, ...(target.onFailure ?? [])])
    .filter((s) => bad(s) && !s.steps)
    .map(
      (s) =>
        `${target.name}: step ${s.id} (${s.uses}) ${s.status}${s.continueOnError ? ' (continue-on-error)' : ''}` +
        `${s.error ? `: ${maskText(s.error)}` : ''}`,
    );
}
