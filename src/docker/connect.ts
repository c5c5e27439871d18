import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';

/** How to reach an engine, in the shape dockerode's modem takes. Built from --host or the environment. */
export interface Endpoint {
  /** For messages: "unix:///var/run/docker.sock", "tcp://10.0.0.5:2376 (TLS)". */
  label: string;
  options: {
    socketPath?: string;
    host?: string;
    port?: number;
    protocol?: 'http' | 'https' | 'ssh';
    username?: string;
    ca?: Buffer;
    cert?: Buffer;
    key?: Buffer;
    sshOptions?: { agent?: string };
    timeout?: number;
  };
}

const defaultSocket = '/var/run/docker.sock';

/**
 * Resolve the engine address: --host wins, then DOCKER_HOST, then the local socket.
 * TLS follows the docker CLI: DOCKER_TLS_VERIFY=1 (or port 2376) means https, certificates from DOCKER_CERT_PATH.
 */
export function resolveEndpoint(host: string | undefined, env: NodeJS.ProcessEnv = process.env): Endpoint {
  const address = host?.trim() || env.DOCKER_HOST?.trim() || `unix://${defaultSocket}`;
  if (address.startsWith('unix://')) {
    const socketPath = address.slice('unix://'.length) || defaultSocket;
    return { label: `unix://${socketPath}`, options: { socketPath } };
  }
  if (address.startsWith('/')) return { label: `unix://${address}`, options: { socketPath: address } };

  let url: URL;
  try {
    url = new URL(address.includes('://') ? address : `tcp://${address}`);
  } catch {
    throw new UsageError(`--host "${address}" is not an engine address; use unix:///path, tcp://HOST:PORT or ssh://USER@HOST`);
  }
  if (url.protocol === 'ssh:') {
    return {
      label: `ssh://${url.username ? `${url.username}@` : ''}${url.hostname}`,
      options: {
        protocol: 'ssh',
        host: url.hostname,
        port: url.port ? Number(url.port) : 22,
        username: url.username || undefined,
        sshOptions: { agent: env.SSH_AUTH_SOCK },
      },
    };
  }
  if (url.protocol !== 'tcp:' && url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--host "${address}": unsupported scheme ${url.protocol}; use unix://, tcp:// or ssh://`);
  }
  // As the docker CLI: any non-empty DOCKER_TLS_VERIFY turns TLS on, and so does port 2376.
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 2376 : 2375;
  const tls = url.protocol === 'https:' || Boolean(env.DOCKER_TLS_VERIFY) || port === 2376;
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const options: Endpoint['options'] = { host: hostname, port, protocol: tls ? 'https' : 'http' };
  const certPath = env.DOCKER_CERT_PATH || (env.HOME ? join(env.HOME, '.docker') : '');
  if (tls && certPath && (env.DOCKER_CERT_PATH || existsSync(join(certPath, 'ca.pem')))) {
    Object.assign(options, readTlsFiles(certPath));
  }
  return { label: `tcp://${url.hostname}:${port}${tls ? ' (TLS)' : ''}`, options };
}

function readTlsFiles(certPath: string): Pick<Endpoint['options'], 'ca' | 'cert' | 'key'> {
  const read = (file: string) => {
    const path = join(certPath, file);
    if (!existsSync(path)) throw new UsageError(`DOCKER_CERT_PATH: ${path} does not exist`);
    return readFileSync(path);
  };
  return { ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem') };
}
