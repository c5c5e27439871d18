import { randomBytes, randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { describeChoice, openEngine, parseFilters, resolveTargets, type Target } from '../docker/index.js';
import { EngineUnreachableError, ExitCode, messageOf } from '../errors.js';
import { prepareEvidenceFolder } from '../evidence/folder.js';
import { flattenSteps, type RunStatus, type TargetRecord } from '../evidence/record.js';
import { EvidenceLostError, EvidenceStore, type StoredBundle } from '../evidence/store.js';
import { Journal, createRunLogger } from '../log.js';
import { maskParams } from '../secrets.js';
import { renderRunMarkdown } from '../report/markdown.js';
import type { TargetEvidence } from '../report/sources.js';
import type { ArtifactRef } from '../steps/types.js';
import { debrisWarningFor } from '../evidence/debris.js';
import { compactTimestamp } from '../evidence/naming.js';
import { signBundleFile } from '../evidence/sign.js';
import type { SshSigningKey } from '../evidence/ssh-key.js';
import { loadPlaybook } from './loader.js';
import { resolveParams } from './params.js';
import { planTarget, type PlannedStep } from './plan.js';
import { lockTargets, lockWaitMs } from './lock.js';
import { countStreamed } from './progress.js';
import { bagInfo, buildRunRecord, engineRecord, operator } from './record.js';
import type { RunOutcome, RunRequest } from './request.js';
import { withFreeze } from './freeze.js';
import { failedForTheEngine, runTarget } from './runner.js';
import { artifactSink, keepReportSources } from './sink.js';
import { incidentOfRecords } from './undo-source.js';

/**
 * The whole of a run: load, resolve targets, plan (and stop there for --dry-run), check the
 * evidence folder, then run every target and, whatever happens after that, finish the bundle:
 * in the evidence folder, or, when the disk will not take it, in a fallback folder. Containment
 * never waits on the evidence: a full disk changes where the bundle goes, not what the run does.
 */
export async function runPlaybook(request: RunRequest): Promise<RunOutcome> {
  const startedAt = new Date();
  const runId = randomUUID();
  const playbook = typeof request.playbook === 'string' ? loadPlaybook(request.playbook) : request.playbook;
  const params = resolveParams(playbook, request.params, request.paramFlags);
  const filters = parseFilters(request.filters);
  // Start-up time (README, Speed): the evidence folder's checks are file-system calls, started now so
  // they overlap loading dockerode and finding the targets. A dry run touches no folder. Awaited
  // below, before anything changes; its failure is kept until then (the empty catch only stops an unhandled rejection).
  const folderReady = request.dryRun ? undefined : prepareEvidenceFolder(request.evidenceDir);
  folderReady?.catch(() => {});
  const engine = await openEngine({ host: request.host, context: request.context });
  const [targets, version, identity] = await Promise.all([
    resolveTargets(engine, { references: request.references, filters }, request.signal),
    engine.version(),
    engine.identity(),
  ]);
  // Undoing a recorded change belongs to the incident of the record, unless told otherwise.
  const incident =
    request.incident ??
    (request.recordOf
      ? await incidentOfRecords(request.evidenceDir, targets, request.recordOf, identity.id)
      : undefined) ??
    newIncidentId(startedAt);
  const plans = targets.map((target) =>
    planTarget(playbook, { target, params, incident, runId, runStartedAt: startedAt }),
  );
  const engineInfo = engineRecord({ engine, identity, engineName: request.engineName, version });
  const outcome = { runId, incident, playbook: playbook.name, engine: engineInfo };
  request.onTargets?.(targets, plans);
  if (request.dryRun) return { ...outcome, status: 'planned', exitCode: ExitCode.ok, plan: plans };
  // An evidence folder that can never hold a bundle is bad input: said now, before anything changes.
  const folder = await folderReady!;
  if (folder.exposed) request.onNotice?.(`firebreak: warning: ${folder.exposed}`);
  if (request.confirm && !(await request.confirm(targets, plans))) {
    return { ...outcome, status: 'declined', exitCode: ExitCode.interrupted, plan: plans };
  }

  // Held until the bundle is finished, so the next run on these containers reads this run's record.
  // Leftovers of runs that died (a second Ctrl-C, kill -9) are evidence nobody has finalised yet.
  // Scanned while the lock is taken: the scan tells a live writer from debris by its process, not by the lock.
  const debrisScan = debrisWarningFor(request.evidenceDir);
  debrisScan.catch(() => {});
  const unlock =
    plans.some((plan) => plan.steps.some(changesState)) || request.freeze
      ? await lockTargets(identity.id, targets, {
          playbook: playbook.name,
          waitMs: lockWaitMs(),
          signal: request.signal,
          onWait: (target, holder) =>
            request.onNotice?.(
              `firebreak: ${target.name}: waiting for another firebreak (${holder.playbook}, pid ${holder.pid}) to finish`,
            ),
        })
      : async () => {};
  const debris = await debrisScan;
  if (debris) request.onNotice?.(debris);
  const who = operator();
  const signer = request.signer && {
    identity: request.signer.identity ?? (request.signer.key.comment || `${who.user}@${who.host}`),
    fingerprint: request.signer.key.fingerprint,
  };
  const store = await EvidenceStore.open({
    dir: request.evidenceDir,
    // A fleet run writes one bundle per engine, told apart by the engine's name.
    playbook: request.engineName ? `${playbook.name}.${request.engineName}` : playbook.name,
    incident,
    compression: request.compression,
    startedAt,
    bagInfo: bagInfo({ incident, version, engine, identity, engineName: request.engineName, who, signer }),
  });
  const journalPath =
    store.intendedPath && join(dirname(store.intendedPath), `.${basename(store.intendedPath)}.journal`);
  const journal = new Journal(journalPath);
  const log = createRunLogger({ journal, level: request.logLevel, base: { run: runId, incident } });
  log.info(
    {
      playbook: { name: playbook.name, source: playbook.source, description: playbook.description },
      params: maskParams(params),
      targets: targets.map(({ id, name, image }) => ({ id, name, image })),
      engine: {
        endpoint: engine.endpoint.label,
        chosenBy: describeChoice(engine.endpoint),
        id: identity.id,
        version: version.version,
        apiVersion: version.apiVersion,
      },
      operator: who,
    },
    'run started',
  );
  if (folder.exposed) log.warn({ evidenceDir: folder.path }, folder.exposed);
  if (store.problem)
    log.error(
      { evidenceDir: request.evidenceDir, error: store.problem },
      'evidence folder cannot take the bundle; keeping evidence in memory',
    );

  let records: TargetRecord[] = [];
  // What report.md reads of each target's evidence (see keepReportSources).
  const reportSources = new Map<string, TargetEvidence>();
  let runError: unknown;
  try {
    records = await request.progress.runTargets(targets, request.concurrency, (target, hooks) => {
      const targetLog = log.child({ target: target.name });
      // Each artifact's hash goes into the journal as it is stored: what `bundle recover` checks a cut-off bundle against.
      const stored = (ref: ArtifactRef) =>
        targetLog.info({ artifact: ref.path, size: ref.size, sha256: ref.sha256 }, 'artifact');
      const sources: TargetEvidence = {};
      reportSources.set(target.id, sources);
      const sink = keepReportSources(countStreamed(artifactSink(store, target, stored), hooks), sources);
      return withFreeze(request.freeze, { engine, target, hooks, signal: request.signal, log: targetLog }, () =>
        runTarget({
          engine,
          target,
          playbook,
          params,
          incident,
          runId,
          runStartedAt: startedAt,
          evidenceDir: request.evidenceDir,
          signal: request.signal,
          log: targetLog,
          artifacts: sink,
          hooks,
        }),
      );
    });
  } catch (error) {
    runError = error;
    log.error({ error: messageOf(error) }, 'run failed');
  }
  const status: RunStatus = request.signal.aborted
    ? 'aborted'
    : runError || records.some((r) => r.status !== 'succeeded')
      ? 'failed'
      : 'succeeded';
  const endedAt = new Date();
  log.info({ status, durationMs: endedAt.getTime() - startedAt.getTime() }, 'run ended');
  const record = buildRunRecord({
    runId,
    incident,
    playbook,
    params,
    status,
    startedAt,
    endedAt,
    who,
    engine,
    identity,
    engineName: request.engineName,
    version,
    targets,
    records,
    runError,
  });
  let bundle: StoredBundle | undefined;
  let evidenceError: string | undefined;
  let signature: RunOutcome['signature'];
  try {
    await store.addFile('journal.ndjson', journal.text());
    record.artifacts = store
      .artifacts()
      .map(({ path, size, sha256, incomplete }) => ({ path, size, sha256, ...(incomplete ? { incomplete } : {}) }));
    await store.addFile('run.json', `${JSON.stringify(record, null, 2)}\n`);
    await store.addFile('report.md', renderRunMarkdown(record, reportSources, store.intendedPath));
    bundle = await store.finalize();
    if (request.signer && signer) signature = await signBundle(bundle, request.signer.key, signer.identity);
  } catch (error) {
    // Nothing would take the bundle: the result on stdout is then the only account of the run.
    evidenceError =
      error instanceof EvidenceLostError ? error.message : `the bundle could not be written: ${messageOf(error)}`;
  } finally {
    await unlock();
    await journal.close();
    // The journal file only serves a run that never got here; kept when no bundle holds the journal.
    if (journalPath && bundle) await rm(journalPath, { force: true });
  }
  const evidenceFailed = Boolean(evidenceError || bundle?.fallback || (request.signer && bundle && !signature));
  const engineLost =
    status === 'failed' ? engineLoss(engine.endpoint.label, records, runError, Boolean(bundle)) : undefined;
  const exitCode =
    status === 'aborted'
      ? ExitCode.interrupted
      : engineLost
        ? ExitCode.engineUnreachable
        : status === 'failed' || evidenceFailed
          ? ExitCode.stepFailed
          : ExitCode.ok;
  return {
    ...outcome,
    status,
    exitCode,
    plan: plans,
    record,
    ...(bundle ? { bundle } : {}),
    ...(signature ? { signature } : {}),
    ...(evidenceError ? { evidenceError } : {}),
    ...(engineLost ? { engineLost } : {}),
  };
}

/**
 * When steps failed because the engine stopped answering (a crash or restart mid-run): one line
 * naming the engine and the first step it failed, else undefined. Where it was first seen gone
 * is the step that ended first among them.
 */
function engineLoss(
  endpoint: string,
  records: readonly TargetRecord[],
  runError: unknown,
  bundled: boolean,
): string | undefined {
  const lost = records
    .flatMap((target) => flattenSteps([...target.steps, ...(target.onFailure ?? [])]).map((step) => ({ target, step })))
    .filter(({ step }) => failedForTheEngine(step))
    .sort((a, b) => (a.step.endedAt ?? '').localeCompare(b.step.endedAt ?? ''));
  const first = lost[0];
  const kept = bundled ? '; the bundle records which steps completed' : '';
  if (first)
    return `the Docker engine at ${endpoint} stopped answering during ${first.step.uses} on ${first.target.name}${kept}`;
  if (runError instanceof EngineUnreachableError) return `${messageOf(runError)}${kept}`;
  return undefined;
}

/** A signature that cannot be written leaves the bundle whole: said as its warning, and the run exits 1. */
async function signBundle(
  bundle: StoredBundle,
  key: SshSigningKey,
  identity: string,
): Promise<RunOutcome['signature']> {
  try {
    return { path: await signBundleFile(bundle.path, key), identity, fingerprint: key.fingerprint };
  } catch (error) {
    const problem = `it could not be signed: ${messageOf(error)}`;
    bundle.warning = bundle.warning ? `${bundle.warning}; ${problem}` : problem;
    return undefined;
  }
}

function changesState(step: PlannedStep): boolean {
  return step.mutates || (step.steps ?? []).some(changesState);
}

export function newIncidentId(date: Date): string {
  return `INC-${compactTimestamp(date).slice(0, 8)}-${randomBytes(3).toString('hex')}`;
}
