/**
 * firebreak's own holds on containers: "firebreak quarantined this" or "firebreak paused this",
 * so that no later run (recover, watch) undoes it. Labels cannot be added to a running container,
 * so a hold is a small file in the evidence folder, which an operator's machines share:
 *
 *   <evidence>/holds/<engine ID>/<container id>.<kind>.json
 *
 * keyed by the engine's own ID (GET /info) and the container's full id, never by an address or a
 * name, so a run that reaches the same engine another way, or from another machine, finds it.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';

export const holdKinds = ['quarantined', 'paused'] as const;
export type HoldKind = (typeof holdKinds)[number];

export interface Hold {
  schema: 'firebreak.hold/v1';
  kind: HoldKind;
  engine: string;
  container: string;
  name: string;
  at: string;
  incident?: string;
  run?: string;
  playbook?: string;
  by: { user: string; host: string };
}

export type HoldFields = Pick<Hold, 'kind' | 'engine' | 'container' | 'name'> &
  Partial<Pick<Hold, 'incident' | 'run' | 'playbook'>>;

export function holdsDir(evidenceDir: string, engine: string): string {
  return join(evidenceDir, 'holds', safeName(engine));
}

function holdPath(evidenceDir: string, engine: string, container: string, kind: HoldKind): string {
  return join(holdsDir(evidenceDir, engine), `${safeName(container)}.${kind}.json`);
}

/** Records a hold; a second one of the same kind replaces the first (the newest says who and when). */
export async function placeHold(evidenceDir: string, fields: HoldFields, at = new Date()): Promise<Hold> {
  const hold: Hold = { schema: 'firebreak.hold/v1', ...fields, at: at.toISOString(), by: operator() };
  const dir = holdsDir(evidenceDir, fields.engine);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = holdPath(evidenceDir, fields.engine, fields.container, fields.kind);
  // Written whole, then renamed: a reader on another machine never sees half a hold.
  const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temporary, `${JSON.stringify(hold, null, 2)}\n`, { mode: 0o600 });
  await rename(temporary, path);
  return hold;
}

/** Removes a hold; true when there was one. */
export async function releaseHold(
  evidenceDir: string,
  engine: string,
  container: string,
  kind: HoldKind,
): Promise<boolean> {
  try {
    await unlink(holdPath(evidenceDir, engine, container, kind));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** The holds on one container, newest first; a file that cannot be read is no hold. */
export async function holdsOn(evidenceDir: string, engine: string, container: string): Promise<Hold[]> {
  const found = await Promise.all(holdKinds.map((kind) => readHold(holdPath(evidenceDir, engine, container, kind))));
  return found.filter((hold): hold is Hold => hold !== undefined).sort((a, b) => (a.at < b.at ? 1 : -1));
}

/** Every hold on one engine (for `watch` and reports). */
export async function holdsOnEngine(evidenceDir: string, engine: string): Promise<Hold[]> {
  const dir = holdsDir(evidenceDir, engine);
  const names = await readdir(dir).catch(() => [] as string[]);
  const found = await Promise.all(
    names.filter((name) => name.endsWith('.json')).map((name) => readHold(join(dir, name))),
  );
  return found.filter((hold): hold is Hold => hold !== undefined);
}

async function readHold(path: string): Promise<Hold | undefined> {
  try {
    const hold = JSON.parse(await readFile(path, 'utf8')) as Hold;
    if (hold?.schema !== 'firebreak.hold/v1' || !holdKinds.includes(hold.kind)) return undefined;
    return hold;
  } catch {
    return undefined;
  }
}

/** Engine IDs may hold ':' (older engines: "ABCD:EFGH:..."), which some shared file systems refuse. */
function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]/g, '_');
}

function operator(): { user: string; host: string } {
  let user = process.env.USER ?? 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (a container running as an arbitrary uid): the environment's word is kept.
  }
  return { user, host: hostname() };
}
