import { NoTargetError, UsageError } from '../errors.js';
import type { Engine } from './engine.js';
import type { Target } from './types.js';

const filterKeys = new Set([
  'ancestor',
  'label',
  'name',
  'health',
  'status',
  'id',
  'network',
  'volume',
  'expose',
  'publish',
]);

/** `--filter KEY=VALUE` flags as the Engine API's filters object, checked before anything is asked. */
export function parseFilters(flags: readonly string[]): Record<string, string[]> {
  const filters: Record<string, string[]> = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    const key = eq > 0 ? flag.slice(0, eq) : '';
    const value = eq > 0 ? flag.slice(eq + 1) : '';
    if (!key || !value)
      throw new UsageError(`--filter "${flag}": expected KEY=VALUE, e.g. ancestor=nginx or label=app=web`);
    if (!filterKeys.has(key)) {
      throw new UsageError(`--filter "${flag}": unknown key "${key}"; use one of ${[...filterKeys].join(', ')}`);
    }
    (filters[key] ??= []).push(value);
  }
  return filters;
}

/**
 * Resolve references (name, full id or unique id prefix, as the docker CLI does) and filters to
 * containers. Every reference must match; a missing one is exit 4 before anything is touched.
 */
export async function resolveTargets(
  engine: Engine,
  request: { references: readonly string[]; filters: Record<string, string[]> },
  signal?: AbortSignal,
): Promise<Target[]> {
  try {
    return await findTargets(engine, request, signal);
  } catch (error) {
    // The engine's identity may be why: an address that is no Docker engine answers a list with
    // something odd, or an empty one, and "not a Docker engine" (exit 3) is the truer answer
    // than a failed list or "no container matches". A real engine has answered /version long ago.
    await engine.version();
    throw error;
  }
}

async function findTargets(
  engine: Engine,
  request: { references: readonly string[]; filters: Record<string, string[]> },
  signal?: AbortSignal,
): Promise<Target[]> {
  const found = new Map<string, Target>();
  if (request.references.length > 0) {
    const all = await engine.containers.list({}, true, signal);
    for (const reference of request.references) {
      const match = matchReference(all, reference);
      found.set(match.id, match);
    }
  }
  if (Object.keys(request.filters).length > 0) {
    const rows = await engine.containers.list(request.filters, true, signal);
    if (rows.length === 0)
      throw new NoTargetError(`no container matches the filters ${describeFilters(request.filters)}`);
    for (const row of rows) found.set(row.id, toTarget(row));
  }
  if (found.size === 0) throw new NoTargetError('no targets: name at least one container or give --filter');
  return [...found.values()];
}

type Row = Awaited<ReturnType<Engine['containers']['list']>>[number];

function matchReference(rows: Row[], reference: string): Target {
  const ref = reference.replace(/^\//, '');
  const byName = rows.find((row) => row.names.includes(ref));
  if (byName) return toTarget(byName);
  const byId = rows.filter((row) => row.id.startsWith(ref.toLowerCase()));
  if (byId.length === 1) return toTarget(byId[0]!);
  if (byId.length > 1) {
    throw new UsageError(`"${reference}" is ambiguous: it prefixes ${byId.length} container ids; give more characters`);
  }
  throw new NoTargetError(`no container matches "${reference}" (name, id or unique id prefix)`);
}

function toTarget(row: Row): Target {
  return {
    id: row.id,
    name: row.names[0] ?? row.id.slice(0, 12),
    image: row.image,
    imageId: row.imageId,
    labels: row.labels,
  };
}

function describeFilters(filters: Record<string, string[]>): string {
  return Object.entries(filters)
    .flatMap(([key, values]) => values.map((v) => `${key}=${v}`))
    .join(', ');
}
