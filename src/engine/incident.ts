/**
 * One view of an incident: every bundle of it in time order as one timeline across runs and
 * containers, the state of each container now (asked of the engine, when it answers), what is
 * still to undo with the exact commands, and whether each bundle verifies.
 */
import { basename } from 'node:path';
import { openEngine, type Engine } from '../docker/index.js';
import { EngineError, NoTargetError, messageOf } from '../errors.js';
import { incidentBundles, incidentFolders, type IncidentBundle } from '../evidence/incident.js';
import { pendingUndo } from '../evidence/pending.js';
import {
  incidentSchemaId,
  type IncidentContainer,
  type IncidentRun,
  type IncidentTimelineRow,
  type IncidentView,
} from '../report/incident.js';
import { timeline } from '../report/timeline.js';

export async function showIncident(query: {
  incident: string;
  evidenceDir: string;
  host?: string;
  context?: string;
  signal?: AbortSignal;
}): Promise<IncidentView> {
  const bundles = await incidentBundles(query.incident, query.evidenceDir);
  const folders = incidentFolders(query.evidenceDir);
  if (bundles.length === 0)
    throw new NoTargetError(
      `no bundle of incident ${query.incident} in ${folders.join(' or ')}; name the folder with --evidence-dir`,
    );
  const withRecords = bundles.filter((b) => b.record !== undefined);
  const { engine, containers } = await currentState(
    withRecords,
    { host: query.host, context: query.context },
    query.signal,
  );
  return {
    schema: incidentSchemaId,
    status: bundles.every((b) => b.verified) ? 'succeeded' : 'failed',
    incident: query.incident,
    folders,
    engine,
    runs: bundles.map(runOf),
    timeline: incidentTimeline(withRecords),
    containers,
    undo: pendingUndo(withRecords.map((b) => ({ record: b.record!, bundle: b.bundle }))),
  };
}

function runOf(b: IncidentBundle): IncidentRun {
  const r = b.record;
  return {
    bundle: b.bundle,
    verified: b.verified,
    problems: b.problems,
    ...(r
      ? {
          runId: r.runId,
          playbook: r.playbook.name,
          status: r.status,
          startedAt: r.startedAt,
          operator: `${r.operator.user}@${r.operator.host}`,
        }
      : {}),
    containers: r?.targets.map((t) => t.name) ?? [],
  };
}

/** Every step of every run, by start time; a step that never ran keeps its place after the one before. */
function incidentTimeline(bundles: readonly IncidentBundle[]): IncidentTimelineRow[] {
  const rows = bundles.flatMap((b, run) =>
    timeline(b.record!.targets).map((row, order) => ({
      ...row,
      playbook: b.record!.playbook.name,
      bundle: basename(b.bundle),
      key: row.at ?? b.record!.startedAt,
      run,
      order,
    })),
  );
  rows.sort((a, b) => a.key.localeCompare(b.key) || a.run - b.run || a.order - b.order);
  return rows.map(({ key: _k, run: _r, order: _o, ...row }) => row);
}

/** Each container the runs touched, as the engine sees it now; said plainly when it cannot be asked. */
async function currentState(
  bundles: readonly IncidentBundle[],
  choice: { host?: string; context?: string },
  signal: AbortSignal | undefined,
): Promise<{ engine: IncidentView['engine']; containers: IncidentContainer[] }> {
  const seen = new Map<string, string>();
  for (const b of bundles) for (const t of b.record!.targets) seen.set(t.id, t.name);
  let engine: Engine | undefined;
  let endpoint = choice.host ?? (choice.context ? `context ${choice.context}` : 'the default engine');
  let problem: string | undefined;
  try {
    engine = await openEngine(choice);
    endpoint = engine.endpoint.label;
    await engine.version();
  } catch (error) {
    problem = messageOf(error);
    engine = undefined;
  }
  const containers: IncidentContainer[] = [];
  for (const [id, name] of seen) {
    if (!engine) {
      containers.push({ id, name, detail: `state unknown: the engine could not be asked (${problem})` });
      continue;
    }
    containers.push(await containerNow(engine, id, name, signal));
  }
  return { engine: { endpoint, reachable: engine !== undefined, ...(problem ? { error: problem } : {}) }, containers };
}

async function containerNow(
  engine: Engine,
  id: string,
  name: string,
  signal?: AbortSignal,
): Promise<IncidentContainer> {
  try {
    const details = await engine.containers.inspect(id, signal);
    const networks = details.networks.map((n) => n.network);
    const state = details.state.paused ? 'paused' : details.state.status;
    return {
      id,
      name: details.name || name,
      state,
      networks,
      detail: `${state}; ${networks.length ? `networks ${networks.join(', ')}` : 'no networks'}`,
    };
  } catch (error) {
    if (error instanceof EngineError && error.notFound)
      return { id, name, state: 'gone', detail: 'gone: the engine has no such container now' };
    return { id, name, detail: `state unknown: ${messageOf(error)}` };
  }
}
