/**
 * The report as data: what markdown.ts and html.ts render and what `report --format json` prints.
 * Built from run.json and the targets' inspect documents only, so the report written at run time
 * and one rendered again later from the bundle are the same. Secrets are masked here, once, so
 * no renderer can forget to.
 */
import {
  flattenSteps,
  type RunRecord,
  type StepRecord,
  type StepStatus,
  type TargetRecord,
} from '../evidence/record.js';
import { maskEnvEntry, maskParams, maskSecrets, maskText } from '../secrets.js';
import { bagSize } from '../evidence/bagit.js';
import { assessHardening, countLevels, type Finding, type Level } from './findings.js';

/** Free text (step notes, errors) with its secrets masked; see secrets.ts. */
export { maskText };

export const reportSchemaId = 'firebreak.report/v1';

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

export interface EnvRow {
  name: string;
  value: string;
  masked: boolean;
}

/** What evidence.files kept of the changed files, and what its size cap left out. */
export interface ChangedFiles {
  collected: number;
  leftOut: number;
  skipped: number;
  /** The step's own line: counts, bytes and the cap. */
  summary: string;
}

export interface TargetReport {
  id: string;
  name: string;
  image: string;
  status: string;
  /** False when the bundle holds no inspect document for this container. */
  inspected: boolean;
  findings: Finding[];
  summary: Record<Level, number>;
  env: EnvRow[];
  /** Absent when the playbook copied no changed files. */
  files?: ChangedFiles;
}

export interface EvidenceRow {
  path: string;
  size: number;
  sha256: string;
  incomplete?: string;
}

export interface ReportModel {
  schema: typeof reportSchemaId;
  title: string;
  run: {
    runId: string;
    incident: string;
    playbook: string;
    description?: string;
    source: string;
    status: string;
    startedAt: string;
    endedAt: string;
    durationMs: number;
    operator: string;
    tool: string;
    engine: string;
    params: unknown;
    error?: string;
  };
  timeline: TimelineRow[];
  targets: TargetReport[];
  evidence: EvidenceRow[];
}

/** `inspects` maps a target's container id to its inspect document (as the engine returned it). */
export function buildReport(record: RunRecord, inspects: ReadonlyMap<string, unknown> = new Map()): ReportModel {
  const engine = record.engine;
  return {
    schema: reportSchemaId,
    title: `firebreak ${record.playbook.name}: ${record.status}`,
    run: {
      runId: record.runId,
      incident: record.incident,
      playbook: record.playbook.name,
      ...(record.playbook.description ? { description: record.playbook.description } : {}),
      source: record.playbook.source,
      status: record.status,
      startedAt: record.startedAt,
      endedAt: record.endedAt,
      durationMs: record.durationMs,
      operator: `${record.operator.user}@${record.operator.host}`,
      tool: `${record.tool.name} ${record.tool.version}`,
      engine: `${engine.endpoint}, Docker ${engine.version ?? '?'}, API ${engine.apiVersion ?? '?'}`,
      // Bundles written before params were masked in run.json are masked here too.
      params: maskSecrets(maskParams(record.params ?? {})),
      ...(record.error ? { error: maskText(record.error) } : {}),
    },
    timeline: timeline(record.targets),
    targets: record.targets.map((target) => targetReport(target, inspects.get(target.id))),
    evidence: record.artifacts.map((a) => ({
      path: `data/${a.path}`,
      size: a.size,
      sha256: a.sha256,
      ...(a.incomplete ? { incomplete: a.incomplete } : {}),
    })),
  };
}

/**
 * Every step of every target in the order it started. Targets run in parallel, so one list by
 * time is what tells a reader what happened to which container when. A step that never ran sorts
 * right after the step before it on the same target.
 */
function timeline(targets: readonly TargetRecord[]): TimelineRow[] {
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

function targetReport(target: TargetRecord, inspect: unknown): TargetReport {
  const findings = assessHardening(inspect);
  return {
    id: target.id,
    name: target.name,
    image: target.image,
    status: target.status,
    inspected: findings.length > 0,
    findings,
    summary: countLevels(findings),
    env: environment(inspect),
    ...changedFiles(target),
  };
}

/** From the evidence.files step's outputs, so the report needs nothing from the bundle but run.json. */
function changedFiles(target: TargetRecord): { files?: ChangedFiles } {
  const step = flattenSteps([...target.steps, ...(target.onFailure ?? [])]).find(
    (s) => s.uses === 'evidence.files' && s.status === 'succeeded',
  );
  const out = step?.outputs;
  if (!out || typeof out.collected !== 'number') return {};
  const count = (v: unknown) => (typeof v === 'number' ? v : 0);
  return {
    files: {
      collected: out.collected,
      leftOut: count(out['left-out']),
      skipped: count(out.skipped),
      summary: maskText(step.note ?? ''),
    },
  };
}

/** `Config.Env` as name/value rows, values of secret-looking names masked. */
export function environment(inspect: unknown): EnvRow[] {
  const config = (inspect as { Config?: { Env?: unknown } } | null)?.Config;
  const env = Array.isArray(config?.Env) ? config.Env.filter((e): e is string => typeof e === 'string') : [];
  return env.map((entry) => {
    const eq = entry.indexOf('=');
    const name = eq === -1 ? entry : entry.slice(0, eq);
    const masked = maskEnvEntry(entry);
    return { name, value: eq === -1 ? '' : masked.slice(eq + 1), masked: masked !== entry };
  });
}

/** `12:03:04.123`, or with the date when the run spans more than one UTC day. */
export function clock(iso: string | undefined, withDate: boolean): string {
  if (!iso) return '';
  return withDate ? `${iso.slice(0, 10)} ${iso.slice(11, 23)}` : iso.slice(11, 23);
}

export function spansDays(model: ReportModel): boolean {
  return model.run.startedAt.slice(0, 10) !== model.run.endedAt.slice(0, 10);
}

export function duration(ms: number | undefined): string {
  if (ms === undefined) return '';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** `812 B`, or `2.1 KB (2104 B)`: the exact count is what a forensic reader compares. */
export function sizeText(bytes: number): string {
  return bytes < 1000 ? `${bytes} B` : `${bagSize(bytes)} (${bytes} B)`;
}
