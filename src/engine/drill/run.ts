import { randomBytes } from 'node:crypto';
import type { Engine } from '../../docker/index.js';
import { messageOf } from '../../errors.js';
import { flattenSteps, type RunRecord } from '../../evidence/record.js';
import type { LogLevel } from '../../log.js';
import { checkExpectations } from '../expect/check.js';
import type { ExpectationResult } from '../expect/verdict.js';
import type { LoadedPlaybook } from '../playbook.js';
import { silentProgress } from '../progress.js';
import type { RunOutcome } from '../request.js';
import { runPlaybook } from '../run.js';
import { templateScope } from '../scope.js';
import { createSandbox, removeSandbox, type Sandbox } from './sandbox.js';
import type { Scenario } from './scenario.js';
import { drillSteps, stateChangingIds, timeToContainMs, type DrillStep } from './timing.js';

/** What one drill needs: the playbook, its scenario and how to run it. */
export interface DrillPlan {
  playbook: LoadedPlaybook;
  params: Record<string, unknown>;
  scenario: Scenario;
  prepare?: { playbook: LoadedPlaybook; params: Record<string, unknown> };
}

export interface DrillSettings {
  engine: Engine;
  host?: string;
  context?: string;
  image: string;
  evidenceDir: string;
  compression: 'gzip' | 'none';
  logLevel: LogLevel;
  keep: boolean;
  signal: AbortSignal;
  /** A line for the person watching: what the drill is doing now. */
  say: (line: string) => void;
}

export type DrillStatus = 'succeeded' | 'failed' | 'aborted';

/** One drill of one playbook: the journal the JSON document and the JUnit file are written from. */
export interface DrillRun {
  drillId: string;
  status: DrillStatus;
  /** The playbook did not succeed or an expectation did not hold. */
  deviated: boolean;
  container?: string;
  error?: string;
  prepare?: { playbook: string; status: string; bundle?: string };
  run?: { status: string; exitCode: number; error?: string };
  expectations: ExpectationResult[];
  steps: DrillStep[];
  timings: { timeToContainMs: number | null; playbookMs?: number; totalMs: number };
  bundle?: { path: string; sha256: string };
  cleanup: { kept: boolean; left: string[] };
}

/**
 * Build the scenario, run the prepare playbook (if any) and the playbook through the normal engine
 * path (a bundle each), check the expectations, and remove everything the drill created, whatever
 * happened, unless told to keep it.
 */
export async function runDrill(plan: DrillPlan, settings: DrillSettings): Promise<DrillRun> {
  const started = performance.now();
  const drillId = randomBytes(4).toString('hex');
  const incident = `DRILL-${drillId}`;
  const journal: DrillRun = {
    drillId,
    status: 'failed',
    deviated: true,
    expectations: [],
    steps: [],
    timings: { timeToContainMs: null, totalMs: 0 },
    cleanup: { kept: settings.keep === true, left: [] },
  };
  let sandbox: Sandbox | undefined;
  const images: string[] = [];
  try {
    settings.say(`${plan.playbook.name}: scenario ${plan.scenario.name} (drill ${drillId})`);
    sandbox = await createSandbox(settings.engine, plan.scenario, {
      image: settings.image,
      drillId,
      signal: settings.signal,
      onStarted: (name) => settings.say(`${plan.playbook.name}: container ${name} started; waiting until it is ready`),
    });
    journal.container = sandbox.containerName;
    if (plan.prepare) {
      settings.say(`${plan.playbook.name}: prepare with ${plan.prepare.playbook.name}`);
      const prepared = await runOnce(plan.prepare.playbook, plan.prepare.params, sandbox, incident, settings);
      journal.prepare = {
        playbook: plan.prepare.playbook.name,
        status: prepared.status,
        ...(prepared.bundle ? { bundle: prepared.bundle.path } : {}),
      };
      images.push(...committedImages(prepared.record));
      if (prepared.status !== 'succeeded') throw new Error(`prepare ${plan.prepare.playbook.name} ${prepared.status}`);
    }
    settings.say(`${plan.playbook.name}: run`);
    const outcome = await runOnce(plan.playbook, plan.params, sandbox, incident, settings);
    images.push(...committedImages(outcome.record));
    const record = outcome.record;
    const mutating = stateChangingIds(plan.playbook);
    journal.run = {
      status: outcome.status,
      exitCode: outcome.exitCode,
      ...(firstError(record) ? { error: firstError(record) } : {}),
    };
    if (outcome.bundle) journal.bundle = { path: outcome.bundle.path, sha256: outcome.bundle.sha256 };
    if (record) {
      journal.steps = drillSteps(record, mutating);
      journal.timings.timeToContainMs = timeToContainMs(record, mutating);
      journal.timings.playbookMs = record.durationMs;
    }
    if (!settings.signal.aborted && record) {
      const target = record.targets[0];
      const scope = templateScope({
        target: {
          id: sandbox.containerId,
          name: sandbox.containerName,
          image: settings.image,
          imageId: '',
          labels: {},
        },
        params: record.params,
        incident,
        runId: record.runId,
        runStartedAt: new Date(record.startedAt),
      });
      for (const step of flattenSteps(target?.steps ?? [])) scope.steps[step.id] = { outputs: step.outputs ?? {} };
      journal.expectations = await checkExpectations(plan.playbook.expect, {
        engine: settings.engine,
        containerId: sandbox.containerId,
        scope,
        incident,
        ...(outcome.bundle ? { bundlePath: outcome.bundle.path } : {}),
        networksBefore: sandbox.networksBefore,
        signal: settings.signal,
      });
    }
    journal.deviated = outcome.status !== 'succeeded' || journal.expectations.some((e) => e.status !== 'succeeded');
    journal.status = settings.signal.aborted ? 'aborted' : journal.deviated ? 'failed' : 'succeeded';
  } catch (error) {
    journal.status = settings.signal.aborted ? 'aborted' : 'failed';
    journal.error = messageOf(error);
  } finally {
    if (!settings.keep) {
      settings.say(`${plan.playbook.name}: cleanup`);
      journal.cleanup.left = await removeSandbox(settings.engine, drillId, images).catch((error) => [
        `cleanup: ${messageOf(error)}`,
      ]);
    }
    journal.timings.totalMs = Math.round(performance.now() - started);
  }
  return journal;
}

function runOnce(
  playbook: LoadedPlaybook,
  params: Record<string, unknown>,
  sandbox: Sandbox,
  incident: string,
  settings: DrillSettings,
): Promise<RunOutcome> {
  return runPlaybook({
    playbook,
    params,
    references: [sandbox.containerId],
    filters: [],
    ...(settings.host ? { host: settings.host } : {}),
    evidenceDir: settings.evidenceDir,
    incident,
    dryRun: false,
    concurrency: 1,
    compression: settings.compression,
    logLevel: settings.logLevel,
    signal: settings.signal,
    progress: silentProgress,
  });
}

/** Images a commit step made: tagged outside the drill's label, so named here to be removed too. */
function committedImages(record: RunRecord | undefined): string[] {
  return flattenSteps(record?.targets[0]?.steps ?? [])
    .filter((step) => step.uses === 'container.commit')
    .map((step) => step.outputs?.image)
    .filter((image): image is string => typeof image === 'string');
}

function firstError(record: RunRecord | undefined): string | undefined {
  const failed = flattenSteps(record?.targets[0]?.steps ?? []).find((s) => s.status === 'failed' && s.error);
  return failed ? `${failed.id} (${failed.uses}): ${failed.error}` : record?.error;
}
