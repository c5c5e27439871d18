import { openEngine } from '../../docker/index.js';
import { ExitCode, UsageError } from '../../errors.js';
import type { LogLevel } from '../../log.js';
import { mapLimit } from '../progress.js';
import { runDrill, type DrillPlan, type DrillRun, type DrillStatus } from './run.js';
import { spreadOf, type Spread } from './timing.js';

export const drillSchemaId = 'firebreak.drill/v1';

export interface DrillRequest {
  plans: DrillPlan[];
  image: string;
  repeat: number;
  /** Playbooks drilled at once (--all); 1 unless timings may be shared with the others. */
  concurrency: number;
  host?: string;
  context?: string;
  evidenceDir: string;
  compression: 'gzip' | 'none';
  logLevel: LogLevel;
  keep: boolean;
  signal: AbortSignal;
  say: (line: string) => void;
}

/** The drills of one playbook: each repeat, and the spread of their timings. */
export interface DrillSuite {
  playbook: string;
  scenario: string;
  prepare?: string;
  /** The playbook's expectations as written, for runs that never got to check them. */
  expect: string[];
  status: DrillStatus;
  deviated: boolean;
  timings: { timeToContainMs?: Spread; totalMs?: Spread };
  runs: DrillRun[];
}

export interface DrillReport {
  schema: typeof drillSchemaId;
  status: DrillStatus;
  deviated: boolean;
  image: string;
  engine: string;
  startedAt: string;
  durationMs: number;
  drills: DrillSuite[];
}

/**
 * Every plan, `repeat` times. One playbook at a time by default: drills measure time, and two at
 * once measure each other. Stops starting new drills after Ctrl-C; those under way still clean up.
 */
export async function runDrills(request: DrillRequest): Promise<DrillReport> {
  const started = new Date();
  const engine = await openEngine({ host: request.host, context: request.context });
  await engine.version();
  // Drills never pull: the image is there, or the drill stops before creating anything.
  if (!(await engine.images.idOf(request.image, request.signal))) {
    throw new UsageError(
      `the drill image ${request.image} is not on the Docker engine at ${engine.endpoint.label}, and drills never pull one: ` +
        `load an image that has sh (docker pull busybox where a registry is reachable, or docker load -i busybox.tar), ` +
        `or name one with --image or FIREBREAK_DRILL_IMAGE`,
    );
  }
  const suites = await mapLimit(request.plans, request.concurrency, async (plan) => {
    const runs: DrillRun[] = [];
    for (let i = 0; i < request.repeat && !request.signal.aborted; i++) {
      runs.push(await runDrill(plan, { ...request, engine }));
    }
    return suiteOf(plan, runs);
  });
  const status = overall(
    suites.map((s) => s.status),
    request.signal.aborted,
  );
  return {
    schema: drillSchemaId,
    status,
    deviated: suites.some((s) => s.deviated),
    image: request.image,
    engine: engine.endpoint.label,
    startedAt: started.toISOString(),
    durationMs: Date.now() - started.getTime(),
    drills: suites,
  };
}

export function exitCodeOfDrills(report: DrillReport): ExitCode {
  if (report.status === 'aborted') return ExitCode.interrupted;
  return report.status === 'succeeded' ? ExitCode.ok : ExitCode.stepFailed;
}

function suiteOf(plan: DrillPlan, runs: DrillRun[]): DrillSuite {
  const contain = runs.map((r) => r.timings.timeToContainMs).filter((t): t is number => t !== null);
  const timeToContainMs = spreadOf(contain);
  const totalMs = spreadOf(runs.map((r) => r.timings.totalMs));
  return {
    playbook: plan.playbook.name,
    scenario: plan.scenario.name,
    ...(plan.prepare ? { prepare: plan.prepare.playbook.name } : {}),
    expect: plan.playbook.expect.map((e) => e.label),
    status: overall(
      runs.map((r) => r.status),
      false,
    ),
    deviated: runs.some((r) => r.deviated),
    timings: { ...(timeToContainMs ? { timeToContainMs } : {}), ...(totalMs ? { totalMs } : {}) },
    runs,
  };
}

function overall(statuses: DrillStatus[], aborted: boolean): DrillStatus {
  if (aborted || statuses.includes('aborted')) return 'aborted';
  return statuses.length > 0 && statuses.every((s) => s === 'succeeded') ? 'succeeded' : 'failed';
}
