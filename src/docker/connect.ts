import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { parseEngineAddress, type EngineAddress } from './address.js';
import { hostKeyCheck, knownHostsFiles, type HostKeyCheck } from './known-hosts.js';

/** How to reach an engine, in the shape dockerode's modem takes. Built from --host or the environment. */
export interface Endpoint {
  /** For messages: "unix:///var/run/docker.sock", "tcp://10.0.0.5:2376 (TLS)". */
  label: string;
  /** How this endpoint was chosen, for `doctor` and messages: the flag, the variable, or the default. */
  source: EndpointSource;
  options: {
    socketPath?: string;
    host?: string;
    port?: number;
    protocol?: 'http' | 'https' | 'ssh';
    username?: string;
    ca?: Buffer;
    cert?: Buffer;
    key?: Buffer;
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

export type EndpointSource = '--host' | 'DOCKER_HOST' | 'default socket';

const defaultSocket = '/var/run/docker.sock';

/** ssh2 waits 20 s for a handshake by default; a host that accepts and then says nothing is down. */
const sshHandshakeMs = 10_000;

/**
 * Resolve the engine address: --host wins, then DOCKER_HOST, then the local socket. A --host that
 * is given is used or refused (exit 2), never replaced: not by DOCKER_HOST, not by the local
 * socket, not even when it is empty. An empty DOCKER_HOST counts as unset, as for the docker CLI.
 * TLS follows the docker CLI: DOCKER_TLS_VERIFY=1 (or port 2376) means https, certificates from DOCKER_CERT_PATH.
 */
export function resolveEndpoint(host: string | undefined, env: NodeJS.ProcessEnv = process.env): Endpoint {
  if (host !== undefined) return { ...endpointOf(parseEngineAddress(host, '--host'), env), source: '--host' };
  if (env.DOCKER_HOST?.trim())
    return { ...endpointOf(parseEngineAddress(env.DOCKER_HOST, 'DOCKER_HOST'), env), source: 'DOCKER_HOST' };
  return { label: `unix://${defaultSocket}`, options: { socketPath: defaultSocket }, source: 'default socket' };
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
