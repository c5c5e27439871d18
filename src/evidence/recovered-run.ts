/**
 * The run.json of a recovered bundle. The run that died never wrote its own, so it is rebuilt from
 * what survived: the journal (who ran which playbook on which targets, and every step that
 * ended), the targets' inspect.json from the partial (their ids and images), or, when the partial
 * holds a whole run.json (the run died while finalising), that record itself. Its status is always
 * `aborted`, and `recovered` says what was kept, what was cut off and where it all came from.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { toolVersion } from '../version.js';
import { entryName } from './naming.js';
import type { CutEntry } from './partial.js';
import {
  runRecordSchemaId,
  type ArtifactEntry,
  type RunRecord,
  type RunStatus,
  type StepRecord,
  type StepStatus,
  type TargetRecord,
} from './record.js';

export interface JournalFacts {
  lines: number;
  unreadableLines: number;
  runId?: string;
  incident?: string;
  playbook?: string;
  /** Logged by runs that say so in their 'run started' line (older runs do not). */
  playbookSource?: string;
  playbookDescription?: string;
  engine?: RunRecord['engine'];
  /** Ids and images by target name, when 'run started' lists targets as objects. */
  targetDetails: Map<string, { id?: string; image?: string }>;
  params?: Record<string, unknown>;
  operator?: { user: string; host: string };
  startedAt?: string;
  /** Time of the last line. */
  lastAt?: string;
  /** The target names the run started on, in order. */
  targets: string[];
  /** Steps that ended, by target name, in the order they ended. */
  steps: Map<string, StepRecord[]>;
  /** Artifacts the run logged as written (`msg: 'artifact'`), by path under data/. */
  artifacts: Map<string, { size?: number; sha256?: string; incomplete?: string }>;
  /** The status the run logged at its end, when it got that far. */
  ended?: { status: RunStatus; at: string };
  error?: string;
}

const STEP_STATUSES = new Set<string>(['succeeded', 'failed', 'skipped', 'aborted']);
const RUN_STATUSES = new Set<string>(['succeeded', 'failed', 'aborted']);

type Line = Record<string, unknown>;
const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** Reads a pino journal line by line; a line cut by the hard exit, or not JSON, is counted and skipped. */
export async function readJournal(path: string): Promise<JournalFacts> {
  const facts: JournalFacts = {
    lines: 0,
    unreadableLines: 0,
    targets: [],
    targetDetails: new Map(),
    steps: new Map(),
    artifacts: new Map(),
  };
  const retries = new Map<string, number>();
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  for await (const raw of lines) {
    if (raw.trim() === '') continue;
    facts.lines++;
    let line: Line;
    try {
      const parsed = JSON.parse(raw) as unknown;
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      line = parsed as Line;
    } catch {
      facts.unreadableLines++;
      continue;
    }
    takeLine(facts, retries, line);
  }
  return facts;
}

function takeLine(facts: JournalFacts, retries: Map<string, number>, line: Line): void {
  const at = text(line.time);
  if (at) facts.lastAt = at;
  facts.runId ??= text(line.run);
  facts.incident ??= text(line.incident);
  const msg = text(line.msg);
  const target = text(line.target);
  const step = text(line.step);
  if (msg === 'run started') {
    facts.startedAt = at;
    facts.playbook = text(line.playbook);
    facts.playbookSource = text(line.source);
    facts.playbookDescription = text(line.description);
    const engine = line.engine as { endpoint?: unknown; version?: unknown; apiVersion?: unknown } | undefined;
    if (typeof engine?.endpoint === 'string') {
      facts.engine = { endpoint: engine.endpoint, version: text(engine.version), apiVersion: text(engine.apiVersion) };
    }
    if (line.params && typeof line.params === 'object') facts.params = line.params as Record<string, unknown>;
    if (Array.isArray(line.targets)) takeTargets(facts, line.targets as unknown[]);
    const who = line.operator as { user?: unknown; host?: unknown } | undefined;
    if (typeof who?.user === 'string' && typeof who.host === 'string')
      facts.operator = { user: who.user, host: who.host };
  } else if (msg === 'run ended' && RUN_STATUSES.has(text(line.status) ?? '') && at) {
    facts.ended = { status: line.status as RunStatus, at };
  } else if (msg === 'run failed') {
    facts.error = text(line.error);
  } else if (msg === 'artifact' && text(line.artifact)) {
    const size = typeof line.size === 'number' ? line.size : undefined;
    facts.artifacts.set(text(line.artifact)!, { size, sha256: text(line.sha256), incomplete: text(line.incomplete) });
  } else if (msg === 'retrying' && target && step) {
    retries.set(`${target}\0${step}`, (retries.get(`${target}\0${step}`) ?? 0) + 1);
  } else if (target && step && msg === `${step} ${text(line.status)}` && STEP_STATUSES.has(text(line.status) ?? '')) {
    const steps = facts.steps.get(target) ?? [];
    steps.push(stepFromLine(line, step, at, (retries.get(`${target}\0${step}`) ?? 0) + 1));
    facts.steps.set(target, steps);
  }
}

/** Target names, or `{ id, name, image }` objects. */
function takeTargets(facts: JournalFacts, targets: unknown[]): void {
  for (const target of targets) {
    if (typeof target === 'string') facts.targets.push(target);
    const t = target as { id?: unknown; name?: unknown; image?: unknown } | null;
    if (typeof t?.name !== 'string') continue;
    facts.targets.push(t.name);
    facts.targetDetails.set(t.name, { id: text(t.id), image: text(t.image) });
  }
}

function stepFromLine(line: Line, id: string, endedAt: string | undefined, attempts: number): StepRecord {
  const durationMs = typeof line.durationMs === 'number' ? line.durationMs : undefined;
  const started =
    endedAt && durationMs !== undefined ? new Date(Date.parse(endedAt) - durationMs).toISOString() : undefined;
  return {
    id,
    uses: text(line.uses) ?? 'unknown',
    status: line.status as StepStatus,
    ...(started ? { startedAt: started } : {}),
    ...(endedAt ? { endedAt } : {}),
    ...(durationMs !== undefined ? { durationMs } : {}),
    attempts,
    ...(text(line.note) ? { note: text(line.note) } : {}),
    ...(text(line.error) ? { error: text(line.error) } : {}),
  };
}

// What each step type streams into the bundle. Such an entry can be whole in the tar and still hold
// less than the stream: the writer completes an entry whose producer failed (entry.ts, direct.ts)
// and says so only in the run.json the dead run never wrote.
const STREAMED_BY: Record<string, RegExp> = {
  'evidence.export': /^filesystem\.tar$/,
  'evidence.files': /^files\.tar$/,
  'evidence.logs': /^logs\.std(out|err)\.log$/,
  'volume.backup': /^volumes\//,
};

/**
 * Why a whole entry may still not be the whole artifact, by path under data/: the journal logged
 * it as incomplete or with another hash, or (when the journal does not vouch for it) the step
 * that streams it ended failed or aborted.
 */
export function artifactDoubts(
  facts: JournalFacts | undefined,
  artifacts: readonly { path: string; sha256: string }[],
): Map<string, string> {
  const doubts = new Map<string, string>();
  if (!facts) return doubts;
  for (const { path, sha256 } of artifacts) {
    const logged = facts.artifacts.get(path);
    if (logged?.incomplete) doubts.set(path, logged.incomplete);
    else if (logged?.sha256 && logged.sha256 !== sha256)
      doubts.set(path, `the run logged sha256 ${logged.sha256} for it, the partial bundle holds ${sha256}`);
    if (logged) continue;
    const match = /^targets\/([^/]+)\/(.+)$/.exec(path);
    if (!match) continue;
    const steps = [...facts.steps].find(([name]) => entryName(name) === match[1])?.[1] ?? [];
    const step = steps.find(
      (s) => (s.status === 'failed' || s.status === 'aborted') && STREAMED_BY[s.uses]?.test(match[2]!),
    );
    if (step)
      doubts.set(
        path,
        `written by step ${step.id} (${step.uses}), which ended ${step.status}: it may hold only part of the stream`,
      );
  }
  return doubts;
}

export interface RecoveryNote {
  /** The debris files the bundle was made from. */
  from: string[];
  at: string;
  /** Whole entries copied from the partial bundle. */
  entriesKept: number;
  /** Entries the partial holds only part of: left out, never hashed as if whole. */
  entriesCutOff: CutEntry[];
  /** Entries of the partial not copied (tag files the recovered bag writes anew, anything outside data/). */
  notCopied: string[];
  /** Streams that were being spooled when the run stopped. */
  spools: Array<{ file: string; path: string; size: number }>;
  journal?: { file: string; path: string; lines: number; unreadableLines: number };
  /** The run's own status, when its journal or its run.json got as far as recording one. */
  runStatus?: RunStatus;
  note: string;
}

export type RecoveredRunRecord = RunRecord & { recovered: RecoveryNote };

export interface RecoveredRunInput {
  /** From the bundle's name, when the journal does not say. */
  named: { startedAt: Date; playbook: string; incident: string };
  facts?: JournalFacts;
  /** A whole run.json found in the partial. */
  original?: Partial<RunRecord>;
  /** `targets/<name>/inspect.json` documents found in the partial, by target name. */
  inspects: Map<string, { id?: string; image?: string }>;
  artifacts: ArtifactEntry[];
  /** When the run was last seen writing anything. */
  lastActivity: Date;
  recovered: RecoveryNote;
}

export function recoveredRunRecord(input: RecoveredRunInput): RecoveredRunRecord {
  const { facts, original, named } = input;
  const startedAt = original?.startedAt ?? facts?.startedAt ?? named.startedAt.toISOString();
  const endedAt = original?.endedAt ?? facts?.ended?.at ?? latest(facts?.lastAt, input.lastActivity).toISOString();
  const runStatus = original?.status ?? facts?.ended?.status;
  const why =
    'the run stopped before it finalised its bundle (a second Ctrl-C, kill -9, a crash or a power loss); this bundle was recovered from what it left';
  const error = original?.error ?? facts?.error;
  return {
    schema: runRecordSchemaId,
    runId: original?.runId ?? facts?.runId ?? 'unknown',
    incident: original?.incident ?? facts?.incident ?? named.incident,
    playbook: original?.playbook ?? {
      name: facts?.playbook ?? named.playbook,
      ...(facts?.playbookDescription ? { description: facts.playbookDescription } : {}),
      source: facts?.playbookSource ?? 'unknown (not in the journal)',
    },
    params: original?.params ?? facts?.params ?? {},
    status: 'aborted',
    startedAt,
    endedAt,
    durationMs: Math.max(0, Date.parse(endedAt) - Date.parse(startedAt)) || 0,
    operator: original?.operator ?? facts?.operator ?? { user: 'unknown', host: 'unknown' },
    tool: { name: 'firebreak', version: original?.tool?.version ?? toolVersion },
    engine: original?.engine ?? facts?.engine ?? { endpoint: 'unknown (not in the journal)' },
    targets: Array.isArray(original?.targets)
      ? original.targets.map((t) => ({ ...t, status: 'aborted' as const }))
      : targetsFrom(input),
    artifacts: input.artifacts,
    error: error ? `${why}; the run had logged: ${error}` : why,
    recovered: { ...input.recovered, ...(runStatus ? { runStatus } : {}) },
  };
}

function targetsFrom(input: RecoveredRunInput): TargetRecord[] {
  const names = [...(input.facts?.targets ?? [])];
  for (const name of [...(input.facts?.steps.keys() ?? []), ...input.inspects.keys()])
    if (!names.includes(name)) names.push(name);
  return names.map((name) => {
    const logged = input.facts?.targetDetails.get(name);
    const inspect = input.inspects.get(name);
    const id = inspect?.id ?? logged?.id ?? '';
    const image = logged?.image ?? inspect?.image ?? '';
    return { id, name, image, status: 'aborted', steps: input.facts?.steps.get(name) ?? [] };
  });
}

function latest(iso: string | undefined, date: Date): Date {
  const parsed = iso ? new Date(iso) : undefined;
  return parsed && !Number.isNaN(parsed.getTime()) && parsed > date ? parsed : date;
}
