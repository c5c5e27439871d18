import { EngineError, EngineUnreachableError } from '../errors.js';
import { describeTlsFailure, tlsFailureCodes } from './connect.js';

/** Socket and TLS failures: the engine was never asked, or never answered. */
const unreachableCodes = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'EACCES',
  'EPERM',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Of those, the ones that mean the connection was made and then broken: the engine went away mid-call. */
const brokenOff = new Set(['ECONNRESET', 'EPIPE']);

/** Of those, the ones a second try a second later cannot fix: permissions and certificates. */
const permanentCodes = new Set([
  'EACCES',
  'EPERM',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** No such object (404), a request the engine will never take (400), forbidden (403, e.g. an authorization plugin). */
const permanentStatuses = new Set([400, 403, 404]);

/**
 * A container that shares the host's network namespace (or another container's) can be neither
 * disconnected nor connected. Docker 20.10 says so with a 400; older engines and Podman with a 500,
 * which would otherwise read as a transient server error.
 */
const namespaceRefusal = /host network|sharing network namespace|network namespace with another container/i;

interface ModemError {
  code?: string;
  statusCode?: number;
  json?: unknown;
  message?: string;
  name?: string;
  /** Set by ssh2 on every failure of the ssh transport: client-socket, client-timeout, client-authentication, protocol, ... */
  level?: string;
}

/** What was being done, for messages: "inspect web-1", and the request itself, "GET /containers/web-1/json". */
export interface CallLabel {
  what: string;
  request?: string;
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
  return (
    (e?.code !== undefined && (unreachableCodes.has(e.code) || tlsFailureCodes.has(e.code))) || e?.statusCode === 401
  );
}

/** Whether an engine refusal can turn out otherwise on a second try. */
export function isRetryableRefusal(statusCode: number | undefined, engineMessage: string): boolean {
  if (statusCode !== undefined && permanentStatuses.has(statusCode)) return false;
  return !namespaceRefusal.test(engineMessage);
}

/**
 * Turn a dockerode/docker-modem failure into one of our errors, keeping the engine's message:
 * "network.disconnect on web-1: engine said: No such container: web-1" reads well at 3 a.m.
 */
export function mapDockerError(error: unknown, call: CallLabel | string, endpoint?: string): Error {
  if (error instanceof EngineError || error instanceof EngineUnreachableError) return error;
  const label = typeof call === 'string' ? { what: call } : call;
  const e = error as ModemError;
  if (e?.name === 'AbortError') return error as Error;
  const where = endpoint ? ` at ${endpoint}` : '';
  if (typeof e?.level === 'string' && !e.statusCode) return sshFailure(e, where, error);
  if (!e?.statusCode && /^\(SSH\)|^Unable to exec/.test(String(e?.message ?? ''))) {
    // The login worked; what failed is the channel that runs `docker system dial-stdio` on the host.
    return new EngineUnreachableError(
      `cannot reach the Docker engine${where}: ssh: ${oneLine(String(e.message))} (the login worked, but the host did not run ` +
        '`docker system dial-stdio`: is Docker installed there, and may this user run it?)',
      { cause: error },
    );
  }
  if (e?.code !== undefined && brokenOff.has(e.code) && !e.statusCode) {
    // It was reached, and then it went away mid-call: most often the engine stopped or crashed.
    return new EngineUnreachableError(
      `the Docker engine${where} stopped answering during ${label.request ?? label.what} (${e.code})`,
      { cause: error },
    );
  }
  if (isUnreachable(error)) {
    const tls = describeTlsFailure(e as { code?: string; reason?: string });
    return new EngineUnreachableError(
      `cannot reach the Docker engine${where}: ${tls ?? e?.code ?? engineMessageOf(error)}` +
        (e?.code === 'EACCES' ? ' (permission denied: run as root or join the docker group)' : ''),
      { cause: error, retryable: !(e?.statusCode === 401 || tls || (e?.code && permanentCodes.has(e.code))) },
    );
  }
  const foreign = e?.statusCode ? foreignBody(e.json) : undefined;
  if (foreign !== undefined) {
    const asked = label.request ? ` to ${label.request}` : '';
    return notAnEngine(endpoint, `it answered HTTP ${e.statusCode}${asked}${foreign ? `: ${foreign}` : ''}`, error);
  }
  const engineMessage = engineMessageOf(error);
  return new EngineError(`${label.what}: engine said: ${engineMessage}`, e?.statusCode, engineMessage, {
    cause: error,
    retryable: isRetryableRefusal(e?.statusCode, engineMessage),
  });
}

/** Exit 3 with one line: whatever answers there speaks HTTP, but not the Engine API. */
export function notAnEngine(endpoint: string | undefined, how: string, cause?: unknown): EngineUnreachableError {
  return new EngineUnreachableError(`${endpoint ?? 'the engine address'} is not a Docker engine (${how})`, {
    cause,
    retryable: false,
  });
}

/**
 * ssh2's failures carry a `level` instead of (or beside) a socket code: a refused or timed-out
 * connection, a failed handshake, refused keys. All mean the engine was not reached; a refused
 * login stays refused on a second try.
 */
function sshFailure(e: ModemError, where: string, cause: unknown): EngineUnreachableError {
  const detail = e.code && unreachableCodes.has(e.code) ? e.code : oneLine(String(e.message ?? 'connection failed'));
  const hint =
    e.level === 'client-authentication'
      ? ' (the ssh server refused every key offered: check the user and that ssh-agent holds the key)'
      : e.level === 'client-timeout'
        ? ' (no ssh handshake in time)'
        : '';
  return new EngineUnreachableError(`cannot reach the Docker engine${where}: ssh: ${detail}${hint}`, {
    cause,
    retryable: e.level !== 'client-authentication',
  });
}

/**
 * A Docker engine explains every refusal as a JSON document with a `message`. Any other non-empty
 * body (an HTML error page, plain text) comes from something else: returns a short, printable
 * excerpt of it, or undefined when the body is the engine's (or empty, as a 304 is).
 */
export function foreignBody(json: unknown): string | undefined {
  if (json === null || json === undefined) return undefined;
  if (typeof json === 'object' && !Buffer.isBuffer(json)) {
    return typeof (json as { message?: unknown }).message === 'string' ? undefined : oneLine(JSON.stringify(json));
  }
  const text = Buffer.isBuffer(json) ? json.toString('utf8') : String(json);
  return text.trim() ? excerpt(text) : undefined;
}

/** The title of an HTML page, or the first words of a text without its tags, made printable. */
export function excerpt(text: string): string {
  const title = /<title[^>]*>([^<]*)<\/title>/i.exec(text)?.[1];
  const plain = (title ?? text.replace(/<[^>]*>/g, ' ')).replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
  return oneLine(plain.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'));
}

function oneLine(text: string, max = 100): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
