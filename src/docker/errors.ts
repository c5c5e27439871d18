import { EngineError, EngineUnreachableError } from '../errors.js';

const unreachableCodes = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'EACCES',
  'EPERM',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  'EAI_AGAIN',
  'ENOTFOUND',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

interface ModemError {
  code?: string;
  statusCode?: number;
  json?: unknown;
  message?: string;
  name?: string;
}

/** The engine's own words, without docker-modem's "(HTTP code 404) no such container - " prefix. */
export function engineMessageOf(error: unknown): string {
  const e = error as ModemError;
  const json = e?.json as { message?: string } | string | undefined;
  if (json && typeof json === 'object' && typeof json.message === 'string') return json.message.trim();
  if (typeof json === 'string' && json.trim()) return json.trim();
  const message = String(e?.message ?? error);
  return message.replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
}

export function isUnreachable(error: unknown): boolean {
  const e = error as ModemError;
  return (e?.code !== undefined && unreachableCodes.has(e.code)) || e?.statusCode === 401;
}

/**
 * Turn a dockerode/docker-modem failure into one of our errors, keeping the engine's message:
 * "network.disconnect on web-1: engine said: No such container: web-1" reads well at 3 a.m.
 */
export function mapDockerError(error: unknown, what: string, endpoint?: string): Error {
  if (error instanceof EngineError || error instanceof EngineUnreachableError) return error;
  const e = error as ModemError;
  if (e?.name === 'AbortError') return error as Error;
  if (isUnreachable(error)) {
    const where = endpoint ? ` at ${endpoint}` : '';
    return new EngineUnreachableError(
      `cannot reach the Docker engine${where}: ${e?.code ?? engineMessageOf(error)}` +
        (e?.code === 'EACCES' ? ' (permission denied: run as root or join the docker group)' : ''),
      { cause: error },
    );
  }
  const engineMessage = engineMessageOf(error);
  return new EngineError(`${what}: engine said: ${engineMessage}`, e?.statusCode, engineMessage, { cause: error });
}
