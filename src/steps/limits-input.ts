import type { Limits } from '../docker/index.js';
import { parsedField } from './inputs.js';
import { parseCpuShares, parseCpus, parseMemory, parseMemorySwap, parsePids } from './limits.js';

/** The limit inputs in people's notation, shared by container.update and assert.limits. */
export const limitFields = {
  cpus: parsedField(parseCpus),
  memory: parsedField(parseMemory),
  'memory-swap': parsedField(parseMemorySwap),
  pids: parsedField(parsePids),
  'cpu-shares': parsedField(parseCpuShares),
};

type LimitInput = { cpus?: number; memory?: number; 'memory-swap'?: number; pids?: number; 'cpu-shares'?: number };

/** The asked-for limits in the engine's terms, leaving out those not asked for. */
export function limitsOf(input: LimitInput): Partial<Limits> {
  const all: Partial<Limits> = {
    nanoCpus: input.cpus,
    memory: input.memory,
    memorySwap: input['memory-swap'],
    pidsLimit: input.pids,
    cpuShares: input['cpu-shares'],
  };
  return Object.fromEntries(Object.entries(all).filter(([, value]) => value !== undefined)) as Partial<Limits>;
}
