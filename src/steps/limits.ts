import type { Limits } from '../docker/index.js';

/**
 * Resource limits in the notations people type (`--cpus 0.5`, `--memory 512m`) and the rules
 * Docker applies to them. Pure: no engine here, so it is unit-tested on its own.
 */

const binaryUnits: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** The engine refuses smaller memory limits ("Minimum memory limit allowed is 6MB"). */
export const minimumMemory = 6 * 1024 ** 2;

/** The kernel's CPU weight when none is set; the engine stores it as 0. */
export const defaultCpuShares = 1024;

/**
 * `512m`, `1g`, `1.5g`, `1024k`, `100` (bytes), as the docker CLI reads them (go-units RAMInBytes):
 * units are binary whatever their spelling (`1g`, `1gb`, `1GiB` are all 2^30), fractions truncate.
 */
export function parseMemory(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${value} is not a number of bytes`);
    return value;
  }
  const match = /^(\d+(?:\.\d+)?) ?([kmgtp]?)(?:i?b)?$/i.exec(value.trim());
  if (!match) throw new Error(`"${value}" is not a size; write e.g. 512m, 1g, 1.5g or a number of bytes`);
  return Math.trunc(Number(match[1]) * binaryUnits[match[2]!.toLowerCase()]!);
}

/** `--memory-swap`: a size, or -1 for unlimited swap. */
export function parseMemorySwap(value: string | number): number {
  return String(value).trim() === '-1' ? -1 : parseMemory(value);
}

/**
 * `0.5` -> 500000000 NanoCpus. Exact decimal arithmetic, as the docker CLI does with big.Rat:
 * 0.1 * 1e9 in floating point is 100000000.00000001, and the API wants an integer.
 */
export function parseCpus(value: string | number): number {
  const text = String(value).trim();
  const match = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (!match) throw new Error(`"${value}" is not a number of CPUs; write e.g. 0.5 or 2`);
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  if (fraction.length > 9) throw new Error(`"${value}" is too precise; CPUs are counted in billionths`);
  return Number(match[1]) * 1e9 + Number(fraction.padEnd(9, '0'));
}

/** `--pids`: a positive count, or -1 / 0 for unlimited (stored as 0). */
export function parsePids(value: string | number): number {
  const n = typeof value === 'number' ? value : Number(String(value).trim());
  if (!Number.isSafeInteger(n) || n < -1)
    throw new Error(`"${value}" is not a process count; write e.g. 100, or -1 for no limit`);
  return Math.max(n, 0);
}

export function parseCpuShares(value: string | number): number {
  const n = typeof value === 'number' ? value : Number(String(value).trim());
  if (!Number.isSafeInteger(n) || n < 0)
    throw new Error(`"${value}" is not a CPU weight; write e.g. 512 (1024 is the default)`);
  return n;
}

/** 536870912 -> "512m", 1610612736 -> "1.5g": the largest unit that reads as at least 1, to 2 decimals. */
export function formatMemory(bytes: number): string {
  if (bytes < 0) return 'unlimited';
  for (const unit of ['p', 't', 'g', 'm', 'k']) {
    const size = bytes / binaryUnits[unit]!;
    if (size >= 1) return `${Math.round(size * 100) / 100}${unit}`;
  }
  return `${bytes}b`;
}

export function formatCpus(nanoCpus: number): string {
  return String(nanoCpus / 1e9);
}

export const limitKeys = ['nanoCpus', 'memory', 'memorySwap', 'pidsLimit', 'cpuShares'] as const;
export type LimitKey = (typeof limitKeys)[number];

/** The same limit as far as the kernel is concerned: no pids limit is 0, -1 or null; weight 0 means 1024. */
export function sameLimit(key: LimitKey, a: number, b: number): boolean {
  if (key === 'pidsLimit') return Math.max(a, 0) === Math.max(b, 0);
  if (key === 'cpuShares') return (a || defaultCpuShares) === (b || defaultCpuShares);
  return a === b;
}

/** The keys of `wanted` whose value differs from `current`. */
export function differingLimits(current: Limits, wanted: Partial<Limits>): LimitKey[] {
  return limitKeys.filter((key) => wanted[key] !== undefined && !sameLimit(key, current[key], wanted[key]!));
}

/**
 * What memory-swap to send with a new memory limit when none was asked for. The engine refuses a
 * memory limit above the current memory-swap unless both change together, and on Docker 20.10 that
 * includes a container with no limits at all (its MemorySwap is 0): plain `docker update --memory 512m`
 * fails there. We follow `docker run -m`: as much swap again as memory (swap = 2 x memory), except
 * that a container allowed no swap (swap == memory) keeps none. Not -1 (unlimited): 20.10 records -1
 * but leaves the cgroup's old memsw limit in place, and then refuses a memory limit above it.
 */
export function derivedSwap(current: Limits, memory: number): number {
  const noSwap = current.memory > 0 && current.memorySwap === current.memory;
  return noSwap ? memory : 2 * memory;
}

/** The request for `container.update`: the asked limits, memory-swap derived when memory alone changes. */
export function limitRequest(current: Limits, wanted: Partial<Limits>): Partial<Limits> {
  const request: Partial<Limits> = {};
  for (const key of differingLimits(current, wanted)) request[key] = wanted[key];
  if (request.memory !== undefined && wanted.memorySwap === undefined)
    request.memorySwap = derivedSwap(current, request.memory);
  if (
    request.memorySwap !== undefined &&
    sameLimit('memorySwap', current.memorySwap, request.memorySwap) &&
    request.memory === undefined
  ) {
    delete request.memorySwap;
  }
  return request;
}

/** "cpus 0.5, memory 512m (swap 1g), pids 100": for notes and plans. */
export function describeLimits(limits: Partial<Limits>): string {
  const parts: string[] = [];
  if (limits.nanoCpus !== undefined) parts.push(`cpus ${limits.nanoCpus ? formatCpus(limits.nanoCpus) : 'unlimited'}`);
  if (limits.memory !== undefined) {
    const swap =
      limits.memorySwap !== undefined && limits.memorySwap !== 0
        ? ` (with swap ${formatMemory(limits.memorySwap)})`
        : '';
    parts.push(`memory ${limits.memory ? formatMemory(limits.memory) : 'unlimited'}${swap}`);
  } else if (limits.memorySwap !== undefined) {
    parts.push(`memory+swap ${limits.memorySwap ? formatMemory(limits.memorySwap) : 'unlimited'}`);
  }
  if (limits.pidsLimit !== undefined) parts.push(`pids ${limits.pidsLimit > 0 ? limits.pidsLimit : 'unlimited'}`);
  if (limits.cpuShares !== undefined) parts.push(`cpu-shares ${limits.cpuShares || `${defaultCpuShares} (default)`}`);
  return parts.join(', ') || 'no limits';
}
