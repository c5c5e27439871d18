/**
 * The incident index of a fleet run: one small JSON file beside the bundles that lists each
 * engine's bundle, its SHA-256 and its exit code, and engines that gave no bundle with why. It is
 * how the run is handed on as one thing, and `bundle verify INDEX` checks every bundle it names.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile, rename } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { UsageError, messageOf } from '../errors.js';
import { bagName } from './naming.js';
import { verifyBundle, type VerifyReport } from './verify.js';

export const fleetIndexSchemaId = 'firebreak.incident-index/v1';

const indexEngine = z.object({
  name: z.string(),
  endpoint: z.string().optional(),
  chosenBy: z.string().optional(),
  engineId: z.string().optional(),
  status: z.string(),
  exitCode: z.number().int(),
  /** Relative to the index's folder when the bundle sits beside it; absolute otherwise (a fallback folder). */
  bundle: z.string().optional(),
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  error: z.string().optional(),
});

const indexFile = z.object({
  schema: z.literal(fleetIndexSchemaId),
  incident: z.string(),
  playbook: z.string(),
  startedAt: z.string(),
  endedAt: z.string(),
  exitCode: z.number().int(),
  engines: z.array(indexEngine),
});

export type FleetIndex = z.infer<typeof indexFile>;
export type FleetIndexEngine = z.infer<typeof indexEngine>;

/** Written whole to a temporary name and renamed, with a .sha256 beside it like a bundle's. */
export async function writeFleetIndex(
  dir: string,
  index: Omit<FleetIndex, 'schema'>,
): Promise<{ path: string; sha256: string }> {
  const name = `${bagName(new Date(index.startedAt), index.playbook, index.incident)}.index.json`;
  const path = join(dir, name);
  const engines = index.engines.map((e) =>
    e.bundle && dirname(e.bundle) === dir ? { ...e, bundle: basename(e.bundle) } : e,
  );
  const text = `${JSON.stringify({ schema: fleetIndexSchemaId, ...index, engines }, null, 2)}\n`;
  const sha256 = createHash('sha256').update(text).digest('hex');
  const temp = join(dir, `.${name}.partial`);
  await writeFile(temp, text, { mode: 0o600 });
  await rename(temp, path);
  await writeFile(`${path}.sha256`, `${sha256}  ${name}\n`, { mode: 0o600 });
  return { path, sha256 };
}

/** Whether a file given to `bundle verify` is an index rather than a bundle. */
export function isFleetIndexPath(path: string): boolean {
  return path.endsWith('.index.json');
}

export async function readFleetIndex(path: string): Promise<FleetIndex> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`${path}: cannot read the index: ${messageOf(error)}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new UsageError(`${path}: not JSON: not a firebreak incident index`);
  }
  const parsed = indexFile.safeParse(data);
  if (!parsed.success) throw new UsageError(`${path}: not a ${fleetIndexSchemaId} document`);
  return parsed.data;
}

export interface IndexVerifyReport {
  schema: 'firebreak.verify-index/v1';
  status: 'succeeded' | 'failed';
  ok: boolean;
  index: string;
  incident: string;
  engines: Array<{
    name: string;
    exitCode: number;
    bundle?: string;
    /** The bundle's own SHA-256 as read now, against the one the index holds. */
    sha256Ok?: boolean;
    report?: VerifyReport;
    problem?: string;
  }>;
  problems: string[];
}

/**
 * Every bundle the index names is verified (verify.ts), and its SHA-256 compared with the
 * index's: a bundle swapped for another valid bundle fails here. An engine that gave no bundle
 * (unreachable, exit 3) is reported as the index says, and is not a verification failure.
 */
export async function verifyFleetIndex(path: string): Promise<IndexVerifyReport> {
  const index = await readFleetIndex(path);
  const problems: string[] = [];
  const engines: IndexVerifyReport['engines'] = [];
  for (const engine of index.engines) {
    if (!engine.bundle) {
      engines.push({ name: engine.name, exitCode: engine.exitCode });
      continue;
    }
    const bundle = isAbsolute(engine.bundle) ? engine.bundle : join(dirname(path), engine.bundle);
    try {
      const report = await verifyBundle(bundle);
      const sha256Ok = report.sidecar.actual === engine.sha256;
      if (!sha256Ok)
        problems.push(`${engine.name}: ${bundle} has sha256 ${report.sidecar.actual}, the index says ${engine.sha256}`);
      if (!report.ok) problems.push(`${engine.name}: ${bundle}: ${report.problems.join('; ')}`);
      engines.push({ name: engine.name, exitCode: engine.exitCode, bundle, sha256Ok, report });
    } catch (error) {
      const problem = `${engine.name}: ${bundle}: ${messageOf(error)}`;
      problems.push(problem);
      engines.push({ name: engine.name, exitCode: engine.exitCode, bundle, problem });
    }
  }
  const ok = problems.length === 0;
  return {
    schema: 'firebreak.verify-index/v1',
    status: ok ? 'succeeded' : 'failed',
    ok,
    index: path,
    incident: index.incident,
    engines,
    problems,
  };
}
