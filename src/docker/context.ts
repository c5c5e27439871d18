/**
 * Docker contexts, read as the docker CLI writes them (`docker context create`): the current one
 * in $DOCKER_CONFIG/config.json (default ~/.docker), each context's metadata in
 * contexts/meta/<sha256 of its name>/meta.json, and its TLS material in
 * contexts/tls/<same>/docker/{ca,cert,key}.pem. `default` is no file: it is the engine that
 * DOCKER_HOST or the local socket names.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { UsageError } from '../errors.js';

export interface DockerContext {
  name: string;
  /** The docker endpoint's Host: unix://, tcp:// or ssh://. */
  host: string;
  skipTlsVerify: boolean;
  /** Whatever of ca.pem, cert.pem and key.pem the context holds. */
  tls: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  /** Where it was read from, for messages. */
  metaPath: string;
}

const metaFile = z.object({
  Name: z.string(),
  Endpoints: z.record(
    z.string(),
    z.looseObject({ Host: z.string().optional(), SkipTLSVerify: z.boolean().optional() }),
  ),
});

const configFile = z.looseObject({ currentContext: z.string().optional() });

/** $DOCKER_CONFIG, else ~/.docker; undefined when neither can be named. */
export function dockerConfigDir(env: NodeJS.ProcessEnv): string | undefined {
  if (env.DOCKER_CONFIG?.trim()) return env.DOCKER_CONFIG;
  return env.HOME ? join(env.HOME, '.docker') : undefined;
}

/** config.json's currentContext; undefined when the file or the field is missing or empty. */
export function currentContextName(env: NodeJS.ProcessEnv): string | undefined {
  const dir = dockerConfigDir(env);
  if (!dir) return undefined;
  const path = join(dir, 'config.json');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined; // No config file: the docker CLI then uses the default context too.
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${path} is not JSON (${(error as Error).message}); fix or remove it`);
  }
  const config = configFile.safeParse(parsed);
  if (!config.success) throw new UsageError(`${path}: currentContext must be a string`);
  return config.data.currentContext?.trim() || undefined;
}

/** The folder name the docker CLI stores a context under. */
export function contextDigest(name: string): string {
  return createHash('sha256').update(name).digest('hex');
}

/** Every context's name, `default` first, as `docker context ls` lists them. */
export function knownContexts(env: NodeJS.ProcessEnv): string[] {
  const dir = dockerConfigDir(env);
  const metaDir = dir ? join(dir, 'contexts', 'meta') : undefined;
  const names: string[] = [];
  for (const entry of metaDir && existsSync(metaDir) ? readdirSync(metaDir) : []) {
    try {
      const meta = metaFile.parse(JSON.parse(readFileSync(join(metaDir!, entry, 'meta.json'), 'utf8')));
      names.push(meta.Name);
    } catch {
      // A damaged context is named when it is asked for; a list of the others still helps.
    }
  }
  return ['default', ...names.filter((n) => n !== 'default').sort()];
}

/**
 * The context called `name`, or undefined for `default`. `source` says where the name came from
 * ("--context", "DOCKER_CONTEXT", "currentContext in ~/.docker/config.json") in messages. An
 * unknown name is exit 2 with the names that exist: acting on another engine than the one meant
 * is the worst answer there is.
 */
export function readContext(name: string, source: string, env: NodeJS.ProcessEnv): DockerContext | undefined {
  if (name === 'default') return undefined;
  const dir = dockerConfigDir(env);
  const digest = contextDigest(name);
  const metaPath = dir ? join(dir, 'contexts', 'meta', digest, 'meta.json') : '';
  let text: string;
  try {
    text = readFileSync(metaPath, 'utf8');
  } catch {
    throw new UsageError(
      `context ${JSON.stringify(name)} (${source}) does not exist; known contexts: ${knownContexts(env).join(', ')}`,
    );
  }
  let meta: z.infer<typeof metaFile>;
  try {
    meta = metaFile.parse(JSON.parse(text));
  } catch {
    throw new UsageError(`context ${JSON.stringify(name)}: ${metaPath} is not a Docker context's meta.json`);
  }
  const docker = meta.Endpoints.docker;
  if (!docker?.Host) {
    throw new UsageError(`context ${JSON.stringify(name)} has no docker endpoint (${metaPath})`);
  }
  const tlsDir = join(dir!, 'contexts', 'tls', digest, 'docker');
  const tls: DockerContext['tls'] = {};
  for (const part of ['ca', 'cert', 'key'] as const) {
    const path = join(tlsDir, `${part}.pem`);
    if (existsSync(path)) tls[part] = readFileSync(path);
  }
  if (Boolean(tls.cert) !== Boolean(tls.key)) {
    throw new UsageError(
      `context ${JSON.stringify(name)}: ${tlsDir} holds a client certificate without its key, or a key without its certificate`,
    );
  }
  return { name, host: docker.Host, skipTlsVerify: docker.SkipTLSVerify === true, tls, metaPath };
}
