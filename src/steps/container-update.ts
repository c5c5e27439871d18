import { z } from 'zod';
import type { Limits } from '../docker/index.js';
import { findNewestChange, findUndoRecord } from '../evidence/undo.js';
import { flag, optionalText } from './inputs.js';
import { limitFields, limitsOf } from './limits-input.js';
import {
  defaultCpuShares,
  describeLimits,
  differingLimits,
  formatCpus,
  formatMemory,
  limitKeys,
  limitRequest,
  minimumMemory,
} from './limits.js';
import { defineStep, type StepContext } from './types.js';

/** Kept in run.json: the limits before the update, only those it changed. `revert` reads them back. */
export interface UpdateUndo {
  /** The limits before firebreak's throttles that are still in force: what a revert goes back to. */
  previous: Partial<Limits>;
  /** The limits this update set, so the next throttle can tell they are still in force. */
  applied?: Partial<Limits>;
}

const limitNames = ['cpus', 'memory', 'memory-swap', 'pids', 'cpu-shares'] as const;

const updateInput = z
  .object({
    ...limitFields,
    revert: flag(false),
    from: optionalText.describe('Bundle holding the record to revert to; default: the newest one for this container'),
  })
  .strict()
  .superRefine((input, ctx) => {
    const asked = limitNames.filter((name) => input[name] !== undefined);
    const issue = (message: string, path: string[] = []) => ctx.addIssue({ code: 'custom', message, path });
    if (input.revert && asked.length) issue(`revert restores the recorded limits; it takes no ${asked.join(', ')}`);
    if (!input.revert && !asked.length) issue(`give at least one of ${limitNames.join(', ')}, or revert: true`);
    if (!input.revert && input.from) issue('from is only read with revert: true', ['from']);
    // The engine reads 0 as "leave as it is", so 0 could never lift a limit; revert knows how.
    if (input.cpus === 0) issue('cpus must be more than 0 (to lift a limit, revert)', ['cpus']);
    if (input.memory !== undefined && input.memory < minimumMemory)
      issue('memory must be at least 6m, the engine minimum', ['memory']);
  })
  .transform((input) => ({
    limits: limitsOf(input),
    revert: input.revert,
    from: input.from,
  }));

export const updateStep = defineStep({
  type: 'container.update',
  description:
    'Set CPU, memory, memory-swap, pids and CPU-weight limits, recording the previous ones; revert: true restores them',
  input: updateInput,
  outputs: ['cpus', 'memory', 'memory-swap', 'pids', 'cpu-shares', 'previous', 'source'],
  timeout: 30_000,
  mutates: true,
  plan: ({ limits, revert, from }) =>
    revert
      ? `restore the limits recorded ${from ? `in ${from}` : 'by the newest throttle bundle of this container'}`
      : `limit ${describeLimits(limits)}` +
        (limits.memory !== undefined && limits.memorySwap === undefined ? ' (memory-swap follows: 2 x memory)' : ''),
  async run(ctx, { limits, revert, from }) {
    const current = (await ctx.engine.containers.inspect(ctx.target.id, ctx.signal)).limits;
    const goal = revert ? await revertGoal(ctx, from) : { wanted: limits, notes: [] as string[], source: undefined };
    const request = limitRequest(current, goal.wanted);
    const asked = Object.keys(goal.wanted) as Array<keyof Limits>;
    const source = goal.source ? ` (record from ${goal.source})` : '';
    if (Object.keys(request).length === 0) {
      return {
        changed: false,
        outputs: outputsOf(current, undefined, goal.source),
        note: `already ${describeLimits(pick(current, asked))}${source}`,
      };
    }
    const warnings = await ctx.engine.containers.update(ctx.target.id, request, ctx.signal);
    const after = (await ctx.engine.containers.inspect(ctx.target.id, ctx.signal)).limits;
    const missed = differingLimits(after, request);
    if (missed.length) {
      throw new Error(
        `the engine accepted ${describeLimits(request)} but reports ${describeLimits(pick(after, missed))}`,
      );
    }
    const changedKeys = Object.keys(request) as Array<keyof Limits>;
    const previous = pick(current, changedKeys);
    // A revert records nothing to undo: the next revert must find the throttle's record, not flip back.
    const undo: UpdateUndo | undefined = revert ? undefined : await chainedUndo(ctx, current, request);
    return {
      changed: true,
      undo,
      outputs: outputsOf(after, previous, goal.source),
      note: [`${describeLimits(request)}, was ${describeLimits(previous)}${source}`, ...goal.notes, ...warnings].join(
        '; ',
      ),
    };
  },
});

/**
 * What a revert must restore after this update: the limits as they were before every throttle of
 * firebreak still in force, not only this one's. A second throttle (0.5 CPU, then 0.25) must not
 * record the first one's 0.5 as "previous", nor forget the pids limit the first one set: the revert
 * goes back to the original. A limit someone else has changed since is the new baseline.
 */
async function chainedUndo(ctx: StepContext, current: Limits, request: Partial<Limits>): Promise<UpdateUndo> {
  const own: UpdateUndo = { previous: pick(current, Object.keys(request) as Array<keyof Limits>), applied: request };
  const newest = await findNewestChange({
    evidenceDir: ctx.evidenceDir,
    containerId: ctx.target.id,
    engineId: (await ctx.engine.identity()).id,
    uses: 'container.update',
  });
  const earlier = newest?.undo as UpdateUndo | undefined;
  // Never throttled, or reverted since (a revert records no undo data): the current limits are the original.
  if (!earlier?.applied) return own;
  const inForce = limitKeys.filter((k) => earlier.previous[k] !== undefined && earlier.applied?.[k] === current[k]);
  return {
    previous: { ...own.previous, ...pick(earlier.previous, inForce) },
    applied: { ...pick(earlier.applied, inForce), ...request },
  };
}

/**
 * The limits to go back to. "No limit" needs care: the engine ignores 0 for NanoCpus, Memory and
 * CpuShares in an update (it means "leave as it is"), so Docker 20.10 has no way to lift a CPU or
 * memory limit once set. The nearest is the host's capacity, which limits nothing in effect.
 */
async function revertGoal(ctx: StepContext, from: string | undefined) {
  const record = await findUndoRecord<UpdateUndo>({
    evidenceDir: ctx.evidenceDir,
    bundle: from,
    containerId: ctx.target.id,
    engineId: (await ctx.engine.identity()).id,
    uses: 'container.update',
  });
  const wanted: Partial<Limits> = { ...record.undo.previous };
  const notes: string[] = [];
  if (wanted.cpuShares === 0) wanted.cpuShares = defaultCpuShares;
  if (wanted.nanoCpus === 0 || wanted.memory === 0) {
    const host = await ctx.engine.system.capacity(ctx.signal);
    if (wanted.nanoCpus === 0) {
      wanted.nanoCpus = host.cpus * 1e9;
      notes.push(`no CPU limit before, and Docker cannot lift one: set to all ${host.cpus} host CPUs`);
    }
    if (wanted.memory === 0) {
      wanted.memory = host.memory;
      // With swap twice memory, as docker run would; -1 is recorded by 20.10 but not applied to the cgroup.
      wanted.memorySwap = 2 * host.memory;
      notes.push(`no memory limit before, and Docker cannot lift one: set to the host's ${formatMemory(host.memory)}`);
    }
  }
  return { wanted, notes, source: record.bundle };
}

/** Outputs in the notation assert.limits reads: cpus as a decimal, sizes in bytes, 0 for no limit. */
function outputsOf(limits: Limits, previous: Partial<Limits> | undefined, source: string | undefined) {
  return {
    cpus: formatCpus(limits.nanoCpus),
    memory: limits.memory,
    'memory-swap': limits.memorySwap,
    pids: Math.max(limits.pidsLimit, 0),
    'cpu-shares': limits.cpuShares,
    ...(previous ? { previous } : {}),
    ...(source ? { source } : {}),
  };
}

function pick(limits: Partial<Limits>, keys: ReadonlyArray<keyof Limits>): Partial<Limits> {
  return Object.fromEntries(
    limitKeys.filter((k) => keys.includes(k) && limits[k] !== undefined).map((k) => [k, limits[k]]),
  );
}
