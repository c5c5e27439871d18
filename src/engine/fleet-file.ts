/**
 * The engines of a fleet run: from a fleet file (--fleet), or from repeated --context and --host
 * flags, narrowed by --select. A fleet file is YAML:
 *
 *   engines:
 *     - name: web-eu
 *       context: web-eu          # a Docker context (docker context ls), or:
 *     - name: db
 *       host: ssh://ops@db1      # an engine address, as --host takes it
 *       labels: { role: db, region: eu }
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { UsageError, messageOf } from '../errors.js';

export interface FleetEngine {
  /** In the bundle's file name, bag-info.txt, the index and ENGINE/CONTAINER targets. */
  name: string;
  context?: string;
  host?: string;
  labels: Record<string, string>;
}

const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

const engineSchema = z
  .object({
    name: z
      .string()
      .regex(namePattern, 'letters, digits, . _ - (up to 63), starting with a letter or digit')
      .describe('The engine in messages, bundle names and ENGINE/CONTAINER targets'),
    context: z.string().min(1).optional().describe('A Docker context name (docker context ls)'),
    host: z.string().min(1).optional().describe('An engine address: unix:///path, tcp://HOST:PORT, ssh://USER@HOST'),
    labels: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String))
      .optional()
      .describe('What --select KEY=VALUE picks engines by'),
  })
  .strict()
  .refine((e) => (e.context === undefined) !== (e.host === undefined), {
    message: 'give either context or host, not both and not neither',
  });

export const fleetFileSchema = z
  .object({ engines: z.array(engineSchema).min(1).describe('The engines a fleet run acts on') })
  .strict()
  .describe('A firebreak fleet file: the engines one command acts on');

/** The JSON Schema `firebreak fleet schema` prints. */
export function fleetJsonSchema(): unknown {
  return z.toJSONSchema(fleetFileSchema, { io: 'input', unrepresentable: 'any' });
}

/** Reads and checks a fleet file; every problem is one line naming the file and the place, exit 2. */
export function readFleetFile(path: string): FleetEngine[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--fleet ${path}: cannot read it: ${messageOf(error)}`);
  }
  let data: unknown;
  try {
    data = parse(text);
  } catch (error) {
    throw new UsageError(`--fleet ${path}: not YAML: ${messageOf(error).split('\n')[0]}`);
  }
  const parsed = fleetFileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length ? issue.path.join('.') : 'the top level';
    throw new UsageError(`--fleet ${path}: ${where}: ${issue.message}`);
  }
  const engines = parsed.data.engines.map((e) => ({ ...e, labels: e.labels ?? {} }));
  const seen = new Set<string>();
  for (const engine of engines) {
    if (seen.has(engine.name)) throw new UsageError(`--fleet ${path}: engine name ${engine.name} appears twice`);
    seen.add(engine.name);
  }
  return engines;
}

/**
 * The engines asked for. One --context or --host alone is no fleet (undefined): the plain run
 * takes it. Repeated flags name each engine after its value; --select needs a fleet file's labels.
 */
export function fleetEngines(flags: {
  fleet?: string;
  context?: string[];
  host?: string[];
  select?: string[];
}): FleetEngine[] | undefined {
  const contexts = flags.context ?? [];
  const hosts = flags.host ?? [];
  if (contexts.length && hosts.length) throw new UsageError('--context and --host both name engines: give one of them');
  if (flags.fleet !== undefined && (contexts.length || hosts.length)) {
    throw new UsageError('--fleet names the engines itself: leave out --context and --host');
  }
  let engines: FleetEngine[];
  if (flags.fleet !== undefined) engines = readFleetFile(flags.fleet);
  else if (contexts.length > 1)
    engines = distinct(contexts, '--context').map((c) => ({ name: c, context: c, labels: {} }));
  else if (hosts.length > 1) {
    const names = uniqueNames(distinct(hosts, '--host').map(nameOfHost));
    engines = hosts.map((h, i) => ({ name: names[i]!, host: h, labels: {} }));
  } else if (flags.select?.length)
    throw new UsageError('--select picks engines of a --fleet file by label: give --fleet');
  else return undefined;
  return selectEngines(engines, flags.select ?? []);
}

function distinct(values: string[], flag: string): string[] {
  const twice = values.find((v, i) => values.indexOf(v) !== i);
  if (twice !== undefined) throw new UsageError(`${flag} ${twice} is given twice`);
  return values;
}

/** Two addresses may shorten to one name (unix:///x and /x): the second becomes name-2. */
function uniqueNames(names: string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((name) => {
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    return n === 1 ? name : `${name}-${n}`;
  });
}

/** `tcp://10.0.0.5:2376` -> `10.0.0.5-2376`: a name safe in a file name, still recognisable. */
function nameOfHost(host: string): string {
  const bare = host.replace(/^[a-z]+:\/\//i, '').replace(/[^A-Za-z0-9._-]+/g, '-');
  return bare.replace(/^[-._]+|-+$/g, '').slice(0, 63) || 'engine';
}

/** --select KEY=VALUE, every one matching; no engine left is bad input, said with the labels there are. */
export function selectEngines(engines: FleetEngine[], selectors: string[]): FleetEngine[] {
  if (!selectors.length) return engines;
  const wanted = selectors.map((s) => {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new UsageError(`--select ${JSON.stringify(s)}: give KEY=VALUE`);
    return [s.slice(0, eq), s.slice(eq + 1)] as const;
  });
  const picked = engines.filter((e) => wanted.every(([k, v]) => e.labels[k] === v));
  if (!picked.length) {
    const labels = [...new Set(engines.flatMap((e) => Object.entries(e.labels).map(([k, v]) => `${k}=${v}`)))];
    throw new UsageError(
      `--select ${selectors.join(' ')} matches no engine of the fleet (labels there: ${labels.join(', ') || 'none'})`,
    );
  }
  return picked;
}
