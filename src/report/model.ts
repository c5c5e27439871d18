/**
 * The report as data: what markdown.ts and html.ts render and what `report --format json` prints.
 * Built from run.json and a few evidence files of each target (sources.ts), so the report written
 * at run time and one rendered again later from the bundle are the same. Secrets are masked
 * here, once, so no renderer can forget to. Each section has its own module.
 */
import { flattenSteps, type RunRecord, type TargetRecord } from '../evidence/record.js';
import { maskEnvEntry, maskParams, maskSecrets, maskText } from '../secrets.js';
import { bagSize } from '../evidence/bagit.js';
import { changedPaths, type ChangedPaths } from './changes.js';
import { assessHardening, countLevels, type Finding, type Level } from './findings.js';
import { imageFacts, type ImageFacts } from './image.js';
import { logExcerpt, type LogExcerpt } from './logs.js';
import { processList, type ProcessList } from './processes.js';
import { resourceSample, type ResourceSample } from './resources.js';
import type { TargetEvidence } from './sources.js';
import { reportSummary, type ReportSummary } from './summary.js';
import { timeline, type TimelineRow } from './timeline.js';

export type { TimelineRow };

/** Free text (step notes, errors) with its secrets masked; see secrets.ts. */
export { maskText };

export const reportSchemaId = 'firebreak.report/v1';

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
  imageFacts: ImageFacts;
  /** Each absent when the bundle has no such evidence for this container. */
  changes?: ChangedPaths;
  processes?: ProcessList;
  resources?: ResourceSample;
  logs?: LogExcerpt;
}

/** What checking the bundle found; absent in the report.md a run writes (its bag is not finished yet). */
export interface ReportVerification {
  ok: boolean;
  problems: string[];
}

export interface EvidenceRow {
  path: string;
  size: number;
  sha256: string;
  incomplete?: string;
}

export interface ReportModel {
  schema: typeof reportSchemaId;
  /** `failed` when the bundle does not verify, else the run's status. */
  status: string;
  title: string;
  /** The bundle file, when the report was rendered from one. */
  bundle?: string;
  verification?: ReportVerification;
  summary: ReportSummary;
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

export interface ReportContext {
  bundle?: string;
  verification?: ReportVerification;
}

/** `evidence` maps a target's container id to the evidence files read for it (sources.ts). */
export function buildReport(
  record: RunRecord,
  evidence: ReadonlyMap<string, TargetEvidence> = new Map(),
  context: ReportContext = {},
): ReportModel {
  const engine = record.engine;
  const broken = context.verification && !context.verification.ok;
  return {
    schema: reportSchemaId,
    status: broken ? 'failed' : record.status,
    title: `firebreak ${record.playbook.name}: ${record.status}`,
    ...(context.bundle ? { bundle: context.bundle } : {}),
    ...(context.verification ? { verification: context.verification } : {}),
    summary: reportSummary(record, context.bundle),
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
    targets: record.targets.map((target) => targetReport(target, evidence.get(target.id) ?? {})),
    evidence: record.artifacts.map((a) => ({
      path: `data/${a.path}`,
      size: a.size,
      sha256: a.sha256,
      ...(a.incomplete ? { incomplete: a.incomplete } : {}),
    })),
  };
}

function targetReport(target: TargetRecord, found: TargetEvidence): TargetReport {
  const { inspect } = found;
  const findings = assessHardening(inspect);
  const changes = changedPaths(found.diff);
  const processes = processList(found.top);
  const resources = resourceSample(found.stats, inspect);
  const logs = logExcerpt(found.stdout, found.stderr);
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
    imageFacts: imageFacts(target.image, found.image, inspect),
    ...(changes ? { changes } : {}),
    ...(processes ? { processes } : {}),
    ...(resources ? { resources } : {}),
    ...(logs ? { logs } : {}),
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
