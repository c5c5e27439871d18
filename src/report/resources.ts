/**
 * One resource sample (stats.json) set against the container's limits (inspect HostConfig). One
 * reading only: evidence.stats does not wait a second for a second one, so CPU is the time used
 * so far, not a rate. Without a limit, memory is set against what the engine says the host has.
 */
import { formatBytes } from '../bytes.js';

export interface ResourceRow {
  name: 'memory' | 'pids' | 'cpu';
  used: number;
  /** The container's limit; absent when it has none. */
  limit?: number;
  /** What `used` is drawn against when there is no limit (the host's memory); absent for none. */
  scale?: number;
  /** `12.3 MiB of 256.0 MiB (4.8 %)`, `3 of no limit`. */
  text: string;
}

export interface ResourceSample {
  /** When the engine took the sample. */
  at?: string;
  rows: ResourceRow[];
}

type Json = Record<string, any>;

export function resourceSample(stats: unknown, inspect: unknown): ResourceSample | undefined {
  if (!stats || typeof stats !== 'object') return undefined;
  const s = stats as Json;
  const host = ((inspect as Json | null)?.HostConfig ?? {}) as Json;
  const rows: ResourceRow[] = [];
  const usage = num(s.memory_stats?.usage);
  if (usage !== undefined) {
    const limit = positive(host.Memory);
    const scale = limit === undefined ? positive(s.memory_stats?.limit) : undefined;
    rows.push({
      name: 'memory',
      used: usage,
      ...(limit !== undefined ? { limit } : {}),
      ...(scale !== undefined ? { scale } : {}),
      text: `${formatBytes(usage)} of ${limit !== undefined ? `${formatBytes(limit)}${percent(usage, limit)}` : `no limit${scale ? ` (host has ${formatBytes(scale)})` : ''}`}`,
    });
  }
  const pids = num(s.pids_stats?.current);
  if (pids !== undefined) {
    const limit = positive(host.PidsLimit);
    rows.push({
      name: 'pids',
      used: pids,
      ...(limit !== undefined ? { limit } : {}),
      text: `${pids} of ${limit !== undefined ? `${limit}${percent(pids, limit)}` : 'no limit'}`,
    });
  }
  const cpuNs = num(s.cpu_stats?.cpu_usage?.total_usage);
  if (cpuNs !== undefined) {
    const cpus = cpuLimit(host);
    rows.push({
      name: 'cpu',
      used: cpuNs / 1e9,
      ...(cpus !== undefined ? { limit: cpus } : {}),
      text: `${(cpuNs / 1e9).toFixed(2)} s of CPU time so far; limit ${cpus !== undefined ? `${cpus} CPUs` : 'none'}`,
    });
  }
  if (rows.length === 0) return undefined;
  return { ...(typeof s.read === 'string' && !s.read.startsWith('0001') ? { at: s.read } : {}), rows };
}

/** NanoCpus (docker --cpus), or a CFS quota over its period. */
function cpuLimit(host: Json): number | undefined {
  const nano = positive(host.NanoCpus);
  if (nano !== undefined) return nano / 1e9;
  const quota = positive(host.CpuQuota);
  const period = positive(host.CpuPeriod) ?? 100_000;
  return quota !== undefined ? Math.round((quota / period) * 100) / 100 : undefined;
}

/** The share a bar shows: against the limit, else the scale; undefined when there is neither. */
export function shareOf(row: ResourceRow): number | undefined {
  const whole = row.name === 'cpu' ? undefined : (row.limit ?? row.scale);
  return whole ? Math.min(1, row.used / whole) : undefined;
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const positive = (v: unknown) => {
  const n = num(v);
  return n !== undefined && n > 0 ? n : undefined;
};
const percent = (used: number, limit: number) => ` (${((used / limit) * 100).toFixed(1)} %)`;
