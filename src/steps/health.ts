import { z } from 'zod';
import type { ContainerDetails, HealthProbe } from '../docker/index.js';
import { formatDuration, parseDuration } from '../duration.js';
import { boundedSignal, flag, parsedField } from './inputs.js';
import { defineStep, type StepContext } from './types.js';

/**
 * health.wait: until the engine says the container is healthy. A container without a healthcheck
 * is judged by a `probe` run inside it (exit 0 is healthy) or, weakest, by `running-for`.
 */

const duration = (fallback?: string) =>
  parsedField((value) => parseDuration(value)).transform((ms) =>
    ms === undefined && fallback ? parseDuration(fallback) : ms,
  );

/** The engine keeps five probe results; the last three say what is wrong without burying it. */
export const shownProbes = 3;

const waitInput = z
  .object({
    timeout: duration('60s').describe('How long to wait for healthy'),
    probe: z.array(z.string().min(1)).min(1).optional().describe('argv run inside the container; exit 0 is healthy'),
    'probe-timeout': duration('10s').describe('The most one probe may take'),
    'running-for': duration().describe('Healthy once it has run this long without a restart (no healthcheck)'),
    interval: duration('250ms').describe('How often to look'),
    // After a restart the engine reports `starting` until its first probes, then `unhealthy` only
    // after `retries` failures in a row: by then waiting longer is hoping, and a retry is cheaper.
    'fail-fast': flag(true).describe('Fail as soon as the engine reports unhealthy'),
  })
  .strict();

type WaitInput = z.output<typeof waitInput>;

/** A wait that ended without healthy: the error carries the probe log as the step's outputs. */
export class HealthWaitError extends Error {
  constructor(
    message: string,
    readonly outputs: Record<string, unknown>,
    /** false when waiting again cannot help (no way to judge health was given). */
    readonly retryable = true,
  ) {
    super(message);
  }
}

export const healthWaitStep = defineStep({
  type: 'health.wait',
  description:
    'Wait until the container is healthy: its healthcheck, else a probe run inside it (exit 0), else running-for',
  input: waitInput,
  outputs: ['health', 'waited-ms', 'health-log', 'probe-output'],
  // The wait is bounded by its own `timeout` input; this only catches a wedged engine call beyond it.
  timeout: 24 * 3_600_000,
  mutates: false,
  plan: (input) => `wait up to ${formatDuration(input.timeout!)} until healthy (${howJudged(input)})`,
  async run(ctx, input) {
    const started = Date.now();
    const deadline = boundedSignal(ctx.signal, input.timeout!);
    let last: ContainerDetails | undefined;
    let probeOutput: string | undefined;
    for (;;) {
      try {
        last = await ctx.engine.containers.inspect(ctx.target.id, deadline);
        const verdict = await judge(ctx, input, last, deadline);
        probeOutput = verdict.output ?? probeOutput;
        const waited = Date.now() - started;
        if (verdict.healthy)
          return {
            outputs: outputsOf(last, waited, probeOutput, 'healthy'),
            note: `healthy after ${formatDuration(waited)} (${howJudged(input)})`,
          };
        if (verdict.fatal) throw failure(`${verdict.fatal}`, last, waited, probeOutput);
        await sleepFor(input.interval!, deadline);
      } catch (error) {
        if (error instanceof HealthWaitError) throw error;
        if (ctx.signal.aborted) throw ctx.signal.reason;
        if (!deadline.aborted) throw error;
        const waited = Date.now() - started;
        throw failure(
          `not healthy within ${formatDuration(input.timeout!)}: ${last ? describeHealth(last) : 'never inspected'}`,
          last,
          waited,
          probeOutput,
        );
      }
    }
  },
});

function howJudged(input: WaitInput): string {
  if (input.probe) return `probe ${JSON.stringify(input.probe)}, exit 0`;
  if (input['running-for'] !== undefined)
    return `its healthcheck, else running for ${formatDuration(input['running-for'])}`;
  return 'its healthcheck';
}

interface Verdict {
  healthy: boolean;
  fatal?: string;
  output?: string;
}

async function judge(
  ctx: StepContext,
  input: WaitInput,
  details: ContainerDetails,
  signal: AbortSignal,
): Promise<Verdict> {
  const { state } = details;
  if (!state.running || state.paused)
    return state.restarting || state.status === 'created'
      ? { healthy: false }
      : {
          healthy: false,
          fatal: `the container is ${state.paused ? 'paused' : state.status} (exit code ${state.exitCode})`,
        };
  if (input.probe) {
    const result = await ctx.engine.exec.run(
      ctx.target.id,
      input.probe,
      boundedSignal(signal, input['probe-timeout']!),
    );
    return { healthy: result.exitCode === 0, output: result.output.trim() || `exit code ${result.exitCode}` };
  }
  if (details.hasHealthcheck) {
    if (state.health === 'healthy') return { healthy: true };
    if (state.health === 'unhealthy' && input['fail-fast'])
      return { healthy: false, fatal: `the engine reports it unhealthy: ${lastProbes(details.state.healthLog)}` };
    return { healthy: false };
  }
  const runFor = input['running-for'];
  if (runFor === undefined)
    throw new HealthWaitError(
      'the container has no healthcheck: give the step a probe (argv run inside it) or running-for',
      outputsOf(details, 0, undefined, 'none'),
      false,
    );
  const since = state.startedAt ? Date.parse(state.startedAt) : Date.now();
  return { healthy: Date.now() - since >= runFor };
}

function failure(
  message: string,
  details: ContainerDetails | undefined,
  waited: number,
  probe?: string,
): HealthWaitError {
  const outputs = details ? outputsOf(details, waited, probe, details.state.health ?? 'none') : { 'waited-ms': waited };
  const withProbe = probe && !message.includes(probe) ? `${message}; last probe said: ${probe}` : message;
  return new HealthWaitError(withProbe, outputs);
}

export function outputsOf(details: ContainerDetails, waited: number, probe: string | undefined, health: string) {
  return {
    health,
    'waited-ms': waited,
    'health-log': details.state.healthLog.slice(-shownProbes),
    ...(probe !== undefined ? { 'probe-output': probe } : {}),
  };
}

export function describeHealth(details: ContainerDetails): string {
  const { state } = details;
  const health = state.health ? `health ${state.health}` : 'no healthcheck';
  const log = details.state.healthLog.length ? `; ${lastProbes(details.state.healthLog)}` : '';
  return `${state.status}, ${health}${log}`;
}

/** "last probes: exit 1 \"no /tmp/ready\" at 12:00:01; ...": what the healthcheck itself said. */
export function lastProbes(log: readonly HealthProbe[]): string {
  if (log.length === 0) return 'no probe has run yet';
  const shown = log.slice(-shownProbes).map((probe) => {
    const output = probe.output.trim().replace(/\s+/g, ' ').slice(0, 200);
    return `exit ${probe.exitCode}${output ? ` "${output}"` : ''} at ${probe.end || probe.start}`;
  });
  return `last probes: ${shown.join('; ')}`;
}

function sleepFor(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
