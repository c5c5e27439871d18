import { flattenSteps, type RunRecord } from '../../evidence/record.js';
import type { LoadedPlaybook, LoadedStep } from '../playbook.js';

/** One step of the drilled run, as the drill reports it. */
export interface DrillStep {
  id: string;
  uses: string;
  status: string;
  durationMs?: number;
  changesState: boolean;
}

export interface Spread {
  runs: number;
  min: number;
  median: number;
  p95: number;
  max: number;
}

/** The ids of the playbook's state-changing steps, groups opened up. */
export function stateChangingIds(playbook: LoadedPlaybook): Set<string> {
  const walk = (steps: readonly LoadedStep[]): string[] =>
    steps.flatMap((step) => [...(step.type?.mutates ? [step.id] : []), ...walk(step.steps ?? [])]);
  return new Set(walk(playbook.steps));
}

export function drillSteps(record: RunRecord, mutating: ReadonlySet<string>): DrillStep[] {
  return flattenSteps(record.targets[0]?.steps ?? []).map((step) => ({
    id: step.id,
    uses: step.uses,
    status: step.status,
    ...(step.durationMs !== undefined ? { durationMs: step.durationMs } : {}),
    changesState: mutating.has(step.id),
  }));
}

/**
 * Time to contain, from run.json: the first step's start to the end of the last state-changing
 * step that ran. null for a playbook that changes nothing (forensics): there is nothing to contain.
 */
export function timeToContainMs(record: RunRecord, mutating: ReadonlySet<string>): number | null {
  const steps = flattenSteps(record.targets[0]?.steps ?? []).filter((s) => s.startedAt);
  if (steps.length === 0) return null;
  const first = Math.min(...steps.map((s) => Date.parse(s.startedAt!)));
  const ends = steps.filter((s) => mutating.has(s.id) && s.endedAt).map((s) => Date.parse(s.endedAt!));
  return ends.length ? Math.max(...ends) - first : null;
}

/** min, median, p95 (nearest rank) and max; undefined without a value. */
export function spreadOf(values: readonly number[]): Spread | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
  return { runs: sorted.length, min: sorted[0]!, median, p95: rank(0.95), max: sorted.at(-1)! };
}
