/**
 * The run's account of itself (run.json) and the bag-info fields, built from what the run knows.
 */
import { hostname, userInfo } from 'node:os';
import { describeChoice, type Engine, type EngineIdentity, type EngineVersion, type Target } from '../docker/index.js';
import { messageOf } from '../errors.js';
import { maskParams } from '../secrets.js';
import { runRecordSchemaId, type RunRecord, type RunStatus, type TargetRecord } from '../evidence/record.js';
import { toolVersion } from '../version.js';
import type { LoadedPlaybook } from './playbook.js';

export interface Operator {
  user: string;
  host: string;
}

export function operator(): Operator {
  let user = process.env.SUDO_USER ?? process.env.USER ?? '';
  try {
    user ||= userInfo().username;
  } catch {
    user ||= 'unknown';
  }
  return { user, host: hostname() };
}

export function buildRunRecord(run: {
  runId: string;
  incident: string;
  playbook: LoadedPlaybook;
  params: Record<string, unknown>;
  status: RunStatus;
  startedAt: Date;
  endedAt: Date;
  who: Operator;
  engine: Engine;
  identity: EngineIdentity;
  engineName?: string;
  version: EngineVersion;
  targets: readonly Target[];
  records: TargetRecord[];
  runError: unknown;
}): RunRecord {
  const { playbook, version } = run;
  return {
    schema: runRecordSchemaId,
    runId: run.runId,
    incident: run.incident,
    playbook: { name: playbook.name, description: playbook.description, source: playbook.source },
    // A param may be a webhook URL or a token: recorded masked (secrets.ts), as the report shows it.
    params: maskParams(run.params),
    status: run.status,
    startedAt: run.startedAt.toISOString(),
    endedAt: run.endedAt.toISOString(),
    durationMs: run.endedAt.getTime() - run.startedAt.getTime(),
    operator: run.who,
    tool: { name: 'firebreak', version: toolVersion },
    engine: engineRecord(run),
    targets: run.records.length ? run.records : run.targets.map((t) => notRunTarget(t, run.status)),
    artifacts: [],
    ...(run.runError ? { error: messageOf(run.runError) } : {}),
  };
}

/** The engine as run.json names it: where, which one, and how it was chosen. */
export function engineRecord(run: {
  engine: Engine;
  identity: EngineIdentity;
  engineName?: string;
  version: EngineVersion;
}): RunRecord['engine'] {
  const { endpoint } = run.engine;
  return {
    endpoint: endpoint.label,
    version: run.version.version,
    apiVersion: run.version.apiVersion,
    id: run.identity.id,
    hostname: run.identity.name,
    source: endpoint.source,
    ...(endpoint.context !== undefined ? { context: endpoint.context } : {}),
    ...(run.engineName ? { name: run.engineName } : {}),
  };
}

function notRunTarget(target: Target, status: RunStatus): TargetRecord {
  return { id: target.id, name: target.name, image: target.image, status, steps: [] };
}

export function bagInfo(run: {
  incident: string;
  version: EngineVersion;
  engine: Engine;
  identity: EngineIdentity;
  engineName?: string;
  who: Operator;
  signer?: { identity: string; fingerprint: string };
}): Record<string, string> {
  const { who, signer } = run;
  return {
    'External-Identifier': run.incident,
    'Bag-Software-Agent': `firebreak ${toolVersion}`,
    'Contact-Name': `${who.user}@${who.host}`,
    ...(run.engineName ? { 'Docker-Engine-Name': run.engineName } : {}),
    'Docker-Engine': run.engine.endpoint.label,
    'Docker-Engine-Chosen-By': describeChoice(run.engine.endpoint),
    'Docker-Engine-ID': run.identity.id,
    'Docker-Engine-Version': run.version.version,
    'Docker-API-Version': run.version.apiVersion,
    // The chain of custody inside the bag; the signature itself (<bundle>.sig) is written after the bag.
    ...(signer ? { 'Signer-Identity': signer.identity, 'Signer-Key-Fingerprint': signer.fingerprint } : {}),
  };
}
