/** The timeline: every step of every container of a run, in the order the steps started. */
import type { StepRecord, StepStatus, TargetRecord } from '../evidence/record.js';
import { maskText } from '../secrets.js';

export interface TimelineRow {
  /** ISO time the step started; absent for steps that never ran. */
  at?: string;
  container: string;
  /** Step id, with its group or on-failure path in front. */
  step: string;
  uses: string;
  status: StepStatus;
  /** `succeeded`, `succeeded (no change)`, `failed after 3 attempts`... */
  result: string;
  durationMs?: number;
  detail: string;
}

/**
 * Every step of every target in the order it started. Targets run in parallel, so one list by
 * time is what tells a reader what happened to which container when. A step that never ran sorts
 * right after the step before it on the same target.
 */
export function timeline(targets: readonly TargetRecord[]): TimelineRow[] {
  const rows: Array<TimelineRow & { sortKey: string; order: number }> = [];
  for (const target of targets) {
    let lastKey = '';
    const add = (steps: readonly StepRecord[], prefix: string): void => {
      for (const step of steps) {
        lastKey = step.startedAt ?? lastKey;
        rows.push({ ...timelineRow(target.name, step, prefix), sortKey: lastKey, order: rows.length });
        if (step.steps) add(step.steps, `${prefix}${step.id} / `);
      }
    };
    add(target.steps, '');
    add(target.onFailure ?? [], 'on-failure / ');
  }
  rows.sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : a.order - b.order));
  return rows.map(({ sortKey: _k, order: _o, ...row }) => row);
}

function timelineRow(container: string, step: StepRecord, prefix: string): TimelineRow {
  const already = step.status === 'succeeded' && step.changed === false ? ' (no change)' : '';
  const retried = step.attempts > 1 ? ` after ${step.attempts} attempts` : '';
  const tolerated = step.status === 'failed' && step.continueOnError ? ' (continue-on-error)' : '';
  return {
    ...(step.startedAt ? { at: step.startedAt } : {}),
    container,
    step: `${prefix}${step.id}`,
    uses: step.uses,
    status: step.status,
    result: `${step.status}${already}${retried}${tolerated}`,
    ...(step.durationMs !== undefined ? { durationMs: step.durationMs } : {}),
    detail: maskText(step.error ?? step.note ?? ''),
  };
}
