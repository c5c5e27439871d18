/**
 * run.json: the machine-readable account of a run. The engine writes it, the report renders it,
 * restore and revert read undo data back from it. Versioned so later readers can tell.
 */
export const runRecordSchemaId = 'firebreak.run/v1';

export type RunStatus = 'succeeded' | 'failed' | 'aborted';
export type StepStatus = 'succeeded' | 'failed' | 'skipped' | 'aborted';

export interface StepRecord {
  id: string;
  uses: string;
  name?: string;
  status: StepStatus;
  /** false: the state was already as asked (idempotent no-op). */
  changed?: boolean;
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
  attempts: number;
  input?: unknown;
  outputs?: Record<string, unknown>;
  undo?: unknown;
  note?: string;
  error?: string;
  continueOnError?: boolean;
  /** For a group: its steps, as in the last attempt. */
  steps?: StepRecord[];
  /** For a group with a retry policy: each attempt's times and error, and the wait that followed it. */
  tries?: GroupTry[];
}

export interface GroupTry {
  attempt: number;
  startedAt: string;
  endedAt?: string;
  error?: string;
  /** The wait before the next attempt, as the retry policy asked for it. */
  delayMs?: number;
}

export interface TargetRecord {
  id: string;
  name: string;
  image: string;
  status: RunStatus;
  steps: StepRecord[];
  onFailure?: StepRecord[];
}

export interface ArtifactEntry {
  path: string;
  size: number;
  sha256: string;
  /** Why the stored bytes are not the whole artifact (the producer failed mid-stream). */
  incomplete?: string;
}

export interface RunRecord {
  schema: typeof runRecordSchemaId;
  runId: string;
  incident: string;
  playbook: { name: string; description?: string; source: string };
  params: Record<string, unknown>;
  status: RunStatus;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  operator: { user: string; host: string };
  tool: { name: string; version: string };
  engine: {
    endpoint: string;
    version?: string;
    apiVersion?: string;
    /** The engine's ID from GET /info: what restore and revert match records by, with the container id. */
    id?: string;
    /** The host name the engine reports. */
    hostname?: string;
    /** How it was chosen: --context, --host, DOCKER_HOST, DOCKER_CONTEXT, currentContext or default socket. */
    source?: string;
    context?: string;
    /** The engine's name in a fleet run (--fleet, or the --context/--host value). */
    name?: string;
  };
  targets: TargetRecord[];
  artifacts: ArtifactEntry[];
  error?: string;
}

/** Steps in order, groups opened up, so a reader can find a step wherever it ran. */
export function flattenSteps(steps: readonly StepRecord[]): StepRecord[] {
  return steps.flatMap((step) => [step, ...flattenSteps(step.steps ?? [])]);
}
