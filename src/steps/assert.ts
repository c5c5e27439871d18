import { z } from 'zod';
import type { Limits } from '../docker/index.js';
import { describeHealth, HealthWaitError, outputsOf, shownProbes } from './health.js';
import { describeLimits, differingLimits } from './limits.js';
import { limitFields, limitsOf } from './limits-input.js';
import { keepInput, resolveKept } from './network-keep.js';
import { defineStep } from './types.js';

/** Assertions read the engine's own view after an action and fail when it disagrees. */

export const isolatedStep = defineStep({
  type: 'assert.isolated',
  description: 'Fail unless the container is attached to no network (except those kept)',
  input: keepInput,
  outputs: [],
  timeout: 10_000,
  mutates: false,
  plan: ({ keep }) => `check that no network is attached${keep.length ? ` except ${keep.join(', ')}` : ''}`,
  async run(ctx, { keep }) {
    const details = await ctx.engine.containers.inspect(ctx.target.id, ctx.signal);
    const kept = await resolveKept(ctx, keep);
    const left = details.networks.filter((n) => !kept.ids.has(n.networkId));
    if (left.length > 0) throw new Error(`still attached to ${left.map((n) => n.network).join(', ')}`);
    return { note: 'attached to no network' + (keep.length ? ` besides ${keep.join(', ')}` : '') };
  },
});

const stoppedStatuses = new Set(['created', 'exited', 'dead']);

export const stoppedStep = defineStep({
  type: 'assert.stopped',
  description: 'Fail unless the container has no running (or paused) process',
  input: z.object({}).strict(),
  outputs: [],
  timeout: 10_000,
  mutates: false,
  plan: () => 'check that the container is stopped',
  async run(ctx) {
    const { state } = await ctx.engine.containers.inspect(ctx.target.id, ctx.signal);
    // A restart policy can bring a stopped container back between two steps: "restarting" is not stopped.
    if (!stoppedStatuses.has(state.status)) throw new Error(`the container is ${state.status}`);
    return { note: `${state.status}, exit code ${state.exitCode}` };
  },
});

export const limitsStep = defineStep({
  type: 'assert.limits',
  description: 'Fail unless the container has the given limits (cpus 0, pids 0 or -1: no limit)',
  input: z.object(limitFields).strict().transform(limitsOf),
  outputs: [],
  timeout: 10_000,
  mutates: false,
  plan: (expected) => `check the limits: ${describeLimits(expected)}`,
  async run(ctx, expected) {
    const { limits } = await ctx.engine.containers.inspect(ctx.target.id, ctx.signal);
    const wrong = differingLimits(limits, expected);
    const pick = (from: Partial<Limits>) => Object.fromEntries(wrong.map((k) => [k, from[k]])) as Partial<Limits>;
    if (wrong.length)
      throw new Error(`expected ${describeLimits(pick(expected))}, the engine reports ${describeLimits(pick(limits))}`);
    return { note: describeLimits(expected) };
  },
});

export const healthyStep = defineStep({
  type: 'assert.healthy',
  description: 'Fail unless the engine reports the container healthy (running, for one without a healthcheck)',
  input: z.object({}).strict(),
  outputs: ['health', 'health-log'],
  timeout: 10_000,
  mutates: false,
  plan: () => 'check that the container is healthy',
  async run(ctx) {
    const details = await ctx.engine.containers.inspect(ctx.target.id, ctx.signal);
    const { state } = details;
    const ok = state.running && !state.paused && (details.hasHealthcheck ? state.health === 'healthy' : true);
    if (!ok)
      throw new HealthWaitError(describeHealth(details), outputsOf(details, 0, undefined, state.health ?? 'none'));
    return {
      outputs: { health: state.health ?? 'none', 'health-log': details.state.healthLog.slice(-shownProbes) },
      note: details.hasHealthcheck ? 'healthy' : 'running (no healthcheck)',
    };
  },
});
