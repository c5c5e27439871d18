import { randomBytes, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { openEngine, parseFilters, resolveTargets, type Engine, type EngineVersion, type Target } from '../docker/index.js';
import { ExitCode, messageOf } from '../errors.js';
import { BundleWriter } from '../evidence/bundle.js';
import { runRecordSchemaId, type RunRecord, type RunStatus, type TargetRecord } from '../evidence/record.js';
import { createRunLogger } from '../log.js';
import { renderRunMarkdown } from '../report/markdown.js';
import type { ArtifactSink } from '../steps/types.js';
import { toolVersion } from '../version.js';
import { loadPlaybook } from './loader.js';
import { resolveParams } from './params.js';
import { planTarget } from './plan.js';
import type { RunOutcome, RunRequest } from './request.js';
import { withFreeze } from './freeze.js';
import { runTarget } from './runner.js';
import { compactTimestamp } from '../evidence/naming.js';
import { artifactSink } from './sink.js';

/**
 * The whole of a run: load, resolve targets, plan (and stop there for --dry-run), then run every
 * target and, whatever happens after the bundle is open, finalise it.
 */
export async function runPlaybook(request: RunRequest): Promise<RunOutcome> {
  const startedAt = new Date();
  const runId = randomUUID();
  const playbook = typeof request.playbook === 'string' ? loadPlaybook(request.playbook) : request.playbook;
  const params = resolveParams(playbook, request.params, request.paramFlags);
  const filters = parseFilters(request.filters);
  const incident = request.incident ?? newIncidentId(startedAt);
  const engine = await openEngine({ host: request.host });
  const [targets, version] = await Promise.all([
    resolveTargets(engine, { references: request.references, filters }),
    engine.version(),
  ]);
  const plans = targets.map((target) => planTarget(playbook, { target, params, incident, runId, runStartedAt: startedAt }));
  const outcome = { runId, incident, playbook: playbook.name };
  request.onTargets?.(targets, plans);
  if (request.dryRun) return { ...outcome, status: 'planned', exitCode: ExitCode.ok, plan: plans };
  if (request.confirm && !(await request.confirm(targets, plans))) {
    return { ...outcome, status: 'declined', exitCode: ExitCode.interrupted, plan: plans };
  }

  const who = operator();
  const bundle = await BundleWriter.open({
    dir: request.evidenceDir,
    playbook: playbook.name,
    incident,
    compression: request.compression,
    startedAt,
    bagInfo: bagInfo({ incident, version, engine, who }),
  });
  const journalPath = join(dirname(bundle.path), `.${basename(bundle.path)}.journal`);
  const { log, flush } = createRunLogger({ journalPath, level: request.logLevel, base: { run: runId, incident } });
  log.info({ playbook: playbook.name, params, targets: targets.map((t) => t.name), operator: who }, 'run started');

  let records: TargetRecord[] = [];
  // The report's hardening findings read each target's inspect document (see keepInspect).
  const inspects = new Map<string, unknown>();
  let runError: unknown;
  try {
    records = await request.progress.runTargets(targets, request.concurrency, (target, hooks) =>
      withFreeze(request.freeze, { engine, target, hooks, signal: request.signal, log: log.child({ target: target.name }) }, () => runTarget({
        engine,
        target,
        playbook,
        params,
        incident,
        runId,
        runStartedAt: startedAt,
        evidenceDir: request.evidenceDir,
        signal: request.signal,
        log: log.child({ target: target.name }),
        artifacts: keepInspect(artifactSink(bundle, target), (doc) => inspects.set(target.id, doc)),
        hooks,
      })),
    );
  } catch (error) {
    runError = error;
    log.error({ error: messageOf(error) }, 'run failed');
  } finally {
    const status: RunStatus = request.signal.aborted
      ? 'aborted'
      : runError || records.some((r) => r.status !== 'succeeded')
        ? 'failed'
        : 'succeeded';
    const endedAt = new Date();
    log.info({ status, durationMs: endedAt.getTime() - startedAt.getTime() }, 'run ended');
    flush();
    const record: RunRecord = {
      schema: runRecordSchemaId,
      runId,
      incident,
      playbook: { name: playbook.name, description: playbook.description, source: playbook.source },
      params,
      status,
      startedAt: startedAt.toISOString(),
      endedAt: endedAt.toISOString(),
      durationMs: endedAt.getTime() - startedAt.getTime(),
      operator: who,
      tool: { name: 'firebreak', version: toolVersion },
      engine: { endpoint: engine.endpoint.label, version: version.version, apiVersion: version.apiVersion },
      targets: records.length ? records : targets.map((t) => notRunTarget(t, status)),
      artifacts: [],
      ...(runError ? { error: messageOf(runError) } : {}),
    };
    try {
      await bundle.addStream('journal.ndjson', createReadStream(journalPath));
      record.artifacts = bundle.artifacts().map(({ path, size, sha256, incomplete }) => ({ path, size, sha256, ...(incomplete ? { incomplete } : {}) }));
      await bundle.addFile('run.json', `${JSON.stringify(record, null, 2)}\n`);
      await bundle.addFile('report.md', renderRunMarkdown(record, inspects));
    } finally {
      await rm(journalPath, { force: true });
    }
    const finished = await bundle.finalize();
    const exitCode =
      status === 'aborted' ? ExitCode.interrupted : status === 'failed' ? ExitCode.stepFailed : ExitCode.ok;
    return { ...outcome, status, exitCode, plan: plans, record, bundle: finished };
  }
}

/**
 * Keeps the inspect document evidence.inspect writes, once it is safely in the bundle, so report.md
 * can show findings without reading the half-written tar back or changing any step.
 */
function keepInspect(sink: ArtifactSink, keep: (doc: unknown) => void): ArtifactSink {
  return {
    ...sink,
    json: async (name, value) => {
      const ref = await sink.json(name, value);
      if (name === 'inspect.json') keep(value);
      return ref;
    },
  };
}

function newIncidentId(date: Date): string {
  return `INC-${compactTimestamp(date).slice(0, 8)}-${randomBytes(3).toString('hex')}`;
}

function operator(): { user: string; host: string } {
  let user = process.env.SUDO_USER ?? process.env.USER ?? '';
  try {
    user ||= userInfo().username;
  } catch {
    user ||= 'unknown';
  }
  return { user, host: hostname() };
}

function notRunTarget(target: Target, status: RunStatus): TargetRecord {
  return { id: target.id, name: target.name, image: target.image, status, steps: [] };
}

function bagInfo(run: { incident: string; version: EngineVersion; engine: Engine; who: { user: string; host: string } }): Record<string, string> {
  const { who } = run;
  return {
    'External-Identifier': run.incident,
    'Bag-Software-Agent': `firebreak ${toolVersion}`,
    'Contact-Name': `${who.user}@${who.host}`,
    'Docker-Engine': run.engine.endpoint.label,
    'Docker-Engine-Version': run.version.version,
    'Docker-API-Version': run.version.apiVersion,
  };
}
