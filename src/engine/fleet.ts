/**
 * One command across several engines: a layer above runPlaybook, one RunRequest per engine, run
 * a few engines at a time. Each engine gets its own bundle (the engine's name in its file name);
 * an index beside them lists every engine's bundle, SHA-256 and exit code. An engine that cannot
 * be reached is reported with exit 3 and the others go on: nothing is skipped without saying so.
 */
import { openEngine, resolveTargets } from '../docker/index.js';
import { ExitCode, NoTargetError, UsageError, exitCodeOf, messageOf } from '../errors.js';
import { writeFleetIndex } from '../evidence/fleet-index.js';
import { prepareEvidenceFolder } from '../evidence/folder.js';
import type { FleetEngine } from './fleet-file.js';
import type { RunOutcome, RunRequest } from './request.js';
import { newIncidentId, runPlaybook } from './run.js';

export interface FleetRequest {
  engines: FleetEngine[];
  /** Engines worked on at once (--engines). */
  parallel: number;
  /** The run as for one engine; references may be ENGINE/CONTAINER. */
  run: Omit<RunRequest, 'host' | 'context' | 'engineName'>;
  /** Told each engine's result as soon as it is known. */
  onEngine?: (result: FleetEngineResult) => void;
}

export interface FleetEngineResult {
  engine: FleetEngine;
  status: RunOutcome['status'] | 'skipped';
  exitCode: ExitCode;
  outcome?: RunOutcome;
  /** Why there is no outcome: the engine could not be reached, nothing of the targets is there. */
  error?: string;
}

export interface FleetOutcome {
  status: 'succeeded' | 'failed' | 'planned' | 'aborted';
  exitCode: ExitCode;
  incident: string;
  playbook: string;
  engines: FleetEngineResult[];
  index?: { path: string; sha256: string };
  indexError?: string;
}

/** Which exit code wins: an interrupt, then an engine out of reach, then bad input, a failed step, a failed check, no target. */
const severity: ExitCode[] = [
  ExitCode.interrupted,
  ExitCode.engineUnreachable,
  ExitCode.usage,
  ExitCode.stepFailed,
  ExitCode.verifyFailed,
  ExitCode.noTarget,
  ExitCode.ok,
];

export function worstExitCode(codes: readonly ExitCode[]): ExitCode {
  return severity.find((code) => codes.includes(code)) ?? ExitCode.ok;
}

export async function runFleet(request: FleetRequest): Promise<FleetOutcome> {
  const startedAt = new Date();
  const playbookName = typeof request.run.playbook === 'string' ? request.run.playbook : request.run.playbook.name;
  const { bare, pinned } = splitReferences(request.run.references, request.engines);
  // One incident for every engine; restore and revert join the records' incident unless told.
  const incident = request.run.incident ?? (request.run.recordOf ? undefined : newIncidentId(startedAt));
  // Made once, before the engines start: each engine's run then finds it there and checks it alone.
  if (!request.run.dryRun) await prepareEvidenceFolder(request.run.evidenceDir);
  const results = await pool(request.engines, request.parallel, async (engine) => {
    const result = await runOnEngine(engine, bare, pinned.get(engine.name) ?? [], {
      ...request.run,
      ...(incident ? { incident } : {}),
    });
    request.onEngine?.(result);
    return result;
  });
  const acted = results.filter((r) => r.outcome);
  const exitCode = acted.length
    ? worstExitCode(results.map((r) => r.exitCode))
    : worstExitCode(results.map((r) => (r.status === 'skipped' ? ExitCode.noTarget : r.exitCode)));
  const fleetIncident = incident ?? acted[0]?.outcome?.incident ?? 'unknown';
  const planned = !!request.run.dryRun;
  const status = request.run.signal.aborted
    ? 'aborted'
    : planned
      ? 'planned'
      : exitCode === ExitCode.ok
        ? 'succeeded'
        : 'failed';
  const outcome: FleetOutcome = { status, exitCode, incident: fleetIncident, playbook: playbookName, engines: results };
  if (planned) return outcome;
  try {
    outcome.index = await writeFleetIndex(request.run.evidenceDir, {
      incident: fleetIncident,
      playbook: playbookName,
      startedAt: startedAt.toISOString(),
      endedAt: new Date().toISOString(),
      exitCode,
      engines: results.map(indexEntry),
    });
  } catch (error) {
    outcome.indexError = `the incident index could not be written: ${messageOf(error)}`;
    if (outcome.exitCode === ExitCode.ok) outcome.exitCode = ExitCode.stepFailed;
  }
  return outcome;
}

function indexEntry(result: FleetEngineResult) {
  const engine = result.outcome?.engine;
  const bundle = result.outcome?.bundle;
  return {
    name: result.engine.name,
    ...(engine ? { endpoint: engine.endpoint, engineId: engine.id } : {}),
    ...(engine?.source
      ? { chosenBy: engine.context ? `context ${engine.context} from ${engine.source}` : engine.source }
      : {}),
    status: result.status,
    exitCode: result.exitCode,
    ...(bundle ? { bundle: bundle.path, sha256: bundle.sha256 } : {}),
    ...(result.error ? { error: result.error } : {}),
  };
}

/**
 * ENGINE/CONTAINER pins a target to one engine (container names hold no slash); anything else is
 * looked for on every engine. A prefix that names no engine is bad input, with the names there are.
 */
export function splitReferences(
  references: readonly string[],
  engines: readonly FleetEngine[],
): { bare: string[]; pinned: Map<string, string[]> } {
  const bare: string[] = [];
  const pinned = new Map<string, string[]>();
  for (const reference of references) {
    const slash = reference.indexOf('/');
    if (slash < 0) {
      bare.push(reference);
      continue;
    }
    const name = reference.slice(0, slash);
    const container = reference.slice(slash + 1);
    if (!engines.some((e) => e.name === name)) {
      throw new UsageError(
        `${reference}: no engine named ${JSON.stringify(name)} in this run (engines: ${engines.map((e) => e.name).join(', ')})`,
      );
    }
    if (!container) throw new UsageError(`${reference}: no container after the engine's name`);
    pinned.set(name, [...(pinned.get(name) ?? []), container]);
  }
  return { bare, pinned };
}

/**
 * One engine's run. A bare name is looked for first, on its own: a container that runs on one
 * engine of the fleet is not missing from the others, it is simply not there. Pinned names are
 * not forgiven: one that is not on its engine is exit 4 for that engine.
 */
async function runOnEngine(
  engine: FleetEngine,
  bare: readonly string[],
  pinned: readonly string[],
  run: FleetRequest['run'],
): Promise<FleetEngineResult> {
  const where = { ...(engine.context ? { context: engine.context } : { host: engine.host }) };
  const prefix = (message: string) => `${engine.name}: ${message}`;
  try {
    const found = bare.length ? await presentOn(where, bare, run.signal) : [];
    const references = [...pinned, ...found];
    if (!references.length && !run.filters.length) {
      const what = bare.length ? `none of ${bare.join(', ')} is on this engine` : 'no target names this engine';
      return { engine, status: 'skipped', exitCode: ExitCode.ok, error: what };
    }
    const outcome = await runPlaybook({
      ...run,
      ...where,
      engineName: engine.name,
      references,
      onNotice: run.onNotice && ((m) => run.onNotice!(prefix(m))),
    });
    return { engine, status: outcome.status, exitCode: outcome.exitCode, outcome };
  } catch (error) {
    if (error instanceof NoTargetError && !pinned.length) {
      return { engine, status: 'skipped', exitCode: ExitCode.ok, error: messageOf(error) };
    }
    return { engine, status: 'failed', exitCode: exitCodeOf(error), error: messageOf(error) };
  }
}

/** The bare references that name a container on this engine. */
async function presentOn(
  where: { context?: string; host?: string },
  references: readonly string[],
  signal: AbortSignal,
): Promise<string[]> {
  const engine = await openEngine(where);
  const present: string[] = [];
  for (const reference of references) {
    try {
      await resolveTargets(engine, { references: [reference], filters: {} }, signal);
      present.push(reference);
    } catch (error) {
      if (!(error instanceof NoTargetError)) throw error;
    }
  }
  return present;
}

/** Runs `work` on every item, at most `limit` at once, results in the items' order. */
async function pool<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, () => worker()));
  return results;
}
