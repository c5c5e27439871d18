import { existsSync, readFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { parseEngineAddress, type EngineAddress } from './address.js';
import { currentContextName, dockerConfigDir, readContext, type DockerContext } from './context.js';
import { hostKeyCheck, knownHostsFiles, type HostKeyCheck } from './known-hosts.js';

/** How the engine was chosen, in the docker CLI's order of precedence (see resolveEndpoint). */
export type EndpointSource =
  '--context' | '--host' | 'DOCKER_HOST' | 'DOCKER_CONTEXT' | 'currentContext' | 'default socket';

/** What the operator asked for on the command line; both empty means "as the environment says". */
export interface EngineChoice {
  context?: string;
  host?: string;
}

/** How to reach an engine, in the shape dockerode's modem takes. Built from --host or the environment. */
export interface Endpoint {
  /** For messages: "unix:///var/run/docker.sock", "tcp://10.0.0.5:2376 (TLS)". */
  label: string;
  /** Which setting chose this engine. */
  source: EndpointSource;
  /** The Docker context it came from (`default` included), when one was used. */
  context?: string;
  options: {
    socketPath?: string;
    host?: string;
    port?: number;
    protocol?: 'http' | 'https' | 'ssh';
    username?: string;
    ca?: Buffer;
    cert?: Buffer;
    key?: Buffer;
    /** Only for a context with SkipTLSVerify: an agent that takes any certificate. */
    agent?: HttpsAgent;
    sshOptions?: {
      agent?: string;
      readyTimeout?: number;
      hostVerifier?: (key: Buffer) => boolean;
      algorithms?: { serverHostKey: string[] };
    };
    timeout?: number;
  };
  /** ssh:// only: the host key check ssh2 runs (known-hosts.ts), which says why it refused a key. */
  hostKey?: HostKeyCheck;
}

const defaultSocket = '/var/run/docker.sock';

/** ssh2 waits 20 s for a handshake by default; a host that accepts and then says nothing is down. */
const sshHandshakeMs = 10_000;

/**
 * Resolve the engine exactly as the docker CLI does: --context, then --host, then DOCKER_HOST,
 * then DOCKER_CONTEXT, then currentContext in $DOCKER_CONFIG/config.json, then the local socket.
 * Whatever is given is used or refused (exit 2), never replaced by the next in line: not a
 * --host that is empty, not a context that does not exist. An empty DOCKER_HOST or
 * DOCKER_CONTEXT counts as unset, as for the docker CLI. Outside contexts TLS follows the docker
 * CLI too: DOCKER_TLS_VERIFY=1 (or port 2376) means https, certificates from DOCKER_CERT_PATH.
 * A string is read as --host, as callers before contexts passed it.
 */
export function resolveEndpoint(
  choice: EngineChoice | string | undefined = {},
  env: NodeJS.ProcessEnv = process.env,
): Endpoint {
  const { context, host } = typeof choice === 'object' ? choice : { host: choice };
  if (context !== undefined && host !== undefined) {
    throw new UsageError('--context and --host both name an engine: give one of them');
  }
  if (context !== undefined) {
    if (!context.trim()) throw new UsageError('--context is empty: give a context name (docker context ls)');
    return contextEndpoint(context, '--context', '--context', env);
  }
  if (host !== undefined) return { ...endpointOf(parseEngineAddress(host, '--host'), env), source: '--host' };
  if (env.DOCKER_HOST?.trim()) {
    return { ...endpointOf(parseEngineAddress(env.DOCKER_HOST, 'DOCKER_HOST'), env), source: 'DOCKER_HOST' };
  }
  if (env.DOCKER_CONTEXT?.trim())
    return contextEndpoint(env.DOCKER_CONTEXT.trim(), 'DOCKER_CONTEXT', 'DOCKER_CONTEXT', env);
  const current = currentContextName(env);
  if (current) {
    const where = `currentContext in ${join(dockerConfigDir(env)!, 'config.json')}`;
    return contextEndpoint(current, 'currentContext', where, env);
  }
  return { label: `unix://${defaultSocket}`, source: 'default socket', options: { socketPath: defaultSocket } };
}

/** "context prod (--context)", "DOCKER_HOST", "the default socket": how an endpoint was chosen, for people. */
export function describeChoice(endpoint: Pick<Endpoint, 'source' | 'context'>): string {
  if (endpoint.context !== undefined) return `context ${endpoint.context} from ${endpoint.source}`;
  return endpoint.source === 'default socket' ? 'the default socket' : endpoint.source;
}

function contextEndpoint(name: string, source: EndpointSource, shown: string, env: NodeJS.ProcessEnv): Endpoint {
  const context = readContext(name, shown, env);
  if (!context) {
    // `default` is what DOCKER_HOST or the local socket name; DOCKER_HOST already lost to --context only.
    const host = env.DOCKER_HOST?.trim();
    const base = host
      ? endpointOf(parseEngineAddress(host, 'DOCKER_HOST'), env)
      : { label: `unix://${defaultSocket}`, options: { socketPath: defaultSocket } };
    return { ...base, source, context: 'default' };
  }
  const address = parseEngineAddress(context.host, `context ${name}`);
  return { ...contextAddressEndpoint(address, context, env), source, context: name };
}

/**
 * A context's own TLS settings, as the docker CLI reads them: TLS when the context holds TLS
 * material or says SkipTLSVerify, plain otherwise; DOCKER_TLS_VERIFY and DOCKER_CERT_PATH belong
 * to the default context only. SkipTLSVerify is honoured because the context's owner wrote it;
 * the label then says "TLS, not verified" wherever the engine is named.
 */
function contextAddressEndpoint(
  address: EngineAddress,
  context: DockerContext,
  env: NodeJS.ProcessEnv,
): Omit<Endpoint, 'source'> {
  if (address.kind !== 'tcp') return endpointOf(address, env);
  const hostPart = address.host.includes(':') ? `[${address.host}]` : address.host;
  const tls = address.scheme === 'https' || context.skipTlsVerify || Object.keys(context.tls).length > 0;
  const port = address.port ?? (tls ? 2376 : 2375);
  const options: Endpoint['options'] = { host: address.host, port, protocol: tls ? 'https' : 'http', ...context.tls };
  if (tls && context.skipTlsVerify) {
    options.agent = new HttpsAgent({ ...context.tls, rejectUnauthorized: false, keepAlive: true });
  }
  const how = !tls ? '' : context.skipTlsVerify ? ' (TLS, not verified)' : ' (TLS)';
  return { label: `tcp://${hostPart}:${port}${how}`, options };
}

function endpointOf(address: EngineAddress, env: NodeJS.ProcessEnv): Omit<Endpoint, 'source'> {
  if (address.kind === 'unix') return { label: `unix://${address.path}`, options: { socketPath: address.path } };
  const hostPart = address.host.includes(':') ? `[${address.host}]` : address.host;
  if (address.kind === 'ssh') {
    const port = address.port ?? 22;
    // As ssh itself does: no user in the address means the local user's name.
    const username = address.user ?? localUser(env);
    const hostKey = hostKeyCheck(address.host, port, knownHostsFiles(env));
    return {
      label: `ssh://${username}@${hostPart}${port === 22 ? '' : `:${port}`}`,
      options: {
        protocol: 'ssh',
        host: address.host,
        port,
        username,
        sshOptions: {
          agent: env.SSH_AUTH_SOCK,
          readyTimeout: sshHandshakeMs,
          // Without a verifier ssh2 takes any host key; see known-hosts.ts.
          hostVerifier: (key: Buffer) => hostKey.verify(key),
          algorithms: { serverHostKey: hostKey.algorithms },
        },
      },
      hostKey,
    };
  }
  // As the docker CLI: any non-empty DOCKER_TLS_VERIFY turns TLS on, and so does port 2376.
  const port = address.port ?? (address.scheme === 'https' ? 2376 : 2375);
  const tls = address.scheme === 'https' || Boolean(env.DOCKER_TLS_VERIFY) || port === 2376;
  const options: Endpoint['options'] = { host: address.host, port, protocol: tls ? 'https' : 'http' };
  const certPath = env.DOCKER_CERT_PATH || (env.HOME ? join(env.HOME, '.docker') : '');
  if (tls && certPath && (env.DOCKER_CERT_PATH || existsSync(join(certPath, 'ca.pem')))) {
    Object.assign(options, readTlsFiles(certPath));
  }
  return { label: `tcp://${hostPart}:${port}${tls ? ' (TLS)' : ''}`, options };
}

function localUser(env: NodeJS.ProcessEnv): string {
  try {
    return userInfo().username;
  } catch {
    // No passwd entry for this uid (a container with an arbitrary uid).
    const name = env.USER || env.LOGNAME;
    if (name) return name;
    throw new UsageError('ssh:// address without a user, and this process has no user name: give ssh://USER@HOST');
  }
}

function readTlsFiles(certPath: string): Pick<Endpoint['options'], 'ca' | 'cert' | 'key'> {
  const read = (file: string) => {
    const path = join(certPath, file);
    if (!existsSync(path)) throw new UsageError(`DOCKER_CERT_PATH: ${path} does not exist`);
    return readFileSync(path);
  };
  return { ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem') };
}

/**
 * TLS stays verified: firebreak has no switch to turn verification off (the docker CLI's
 * `--tls` without `--tlsverify`), because a containment run that talks to whoever answers on
 * the engine's address can be made to report "isolated" by anyone on the path. The engine's
 * certificate must chain to DOCKER_CERT_PATH/ca.pem (else the system's CAs) and name the host.
 * What Node's TLS codes mean, with the fix, for the one line a refused connection prints.
 */
const tlsFailures: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT:
    "the engine's certificate is self-signed and no CA given trusts it; put the CA that signed it in $DOCKER_CERT_PATH/ca.pem",
  SELF_SIGNED_CERT_IN_CHAIN:
    "the engine's certificate chains to a CA that is not trusted; put that CA in $DOCKER_CERT_PATH/ca.pem",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    "the engine's certificate is not signed by a trusted CA; put the CA that signed it in $DOCKER_CERT_PATH/ca.pem",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    "the engine's certificate is signed by a CA that is not trusted; put that CA in $DOCKER_CERT_PATH/ca.pem",
  UNABLE_TO_GET_ISSUER_CERT:
    "the issuer of the engine's certificate is not trusted; put the CA in $DOCKER_CERT_PATH/ca.pem",
  CERT_SIGNATURE_FAILURE: "the engine's certificate has a bad signature",
  CERT_HAS_EXPIRED: "the engine's certificate has expired",
  CERT_NOT_YET_VALID: "the engine's certificate is not valid yet (check the clocks)",
  CERT_REVOKED: "the engine's certificate was revoked",
  ERR_TLS_CERT_ALTNAME_INVALID: "the engine's certificate is not for this host name or address",
};

export const tlsFailureCodes: ReadonlySet<string> = new Set(Object.keys(tlsFailures));

/** "TLS: <what is wrong> (<code>: <Node's reason>)" for a refused certificate; undefined for anything else. */
export function describeTlsFailure(error: { code?: string; reason?: string }): string | undefined {
  const what = error.code ? tlsFailures[error.code] : undefined;
  if (!what) return undefined;
  return `TLS: ${what} (${error.code}${error.reason ? `: ${error.reason}` : ''})`;
}
