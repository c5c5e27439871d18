import { isIPv6 } from 'node:net';
import { UsageError } from '../errors.js';

/**
 * An engine address as --host or DOCKER_HOST give it, read strictly: every part the connection
 * needs must be there. The docker CLI fills gaps (`tcp://` becomes tcp://127.0.0.1:2375, `unix://`
 * the default socket); firebreak does not, because at 3 a.m. a gap is most often an empty shell
 * variable (`--host tcp://$ENGINE:2375`), and acting on another engine than the one meant is the
 * worst answer there is. A missing port is still filled (2375, 2376 with TLS, 22 for ssh), as a
 * port is not a choice of engine.
 */
export type EngineAddress =
  | { kind: 'unix'; path: string }
  | { kind: 'tcp'; scheme: 'tcp' | 'http' | 'https'; host: string; port?: number }
  | { kind: 'ssh'; user?: string; host: string; port?: number };

const examples = 'e.g. unix:///var/run/docker.sock, tcp://HOST:2375 or ssh://USER@HOST';
// Letters, digits, hyphens and underscores (compose service names), in dot-separated labels.
const hostnamePattern =
  /^[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/;

/** `source` names where the value came from in messages: "--host" or "DOCKER_HOST". */
export function parseEngineAddress(value: string, source: string): EngineAddress {
  const bad = (reason: string) => new UsageError(`${source} ${JSON.stringify(value)}: ${reason}`);
  const address = value.trim();
  if (!address) throw new UsageError(`${source} is empty: give an engine address, ${examples}`);
  if (address.startsWith('/')) return { kind: 'unix', path: address };

  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(address)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    if (address.includes('://') || !/^[^/:]+:\d+$|^\[[^\]]+\]:\d+$/.test(address)) {
      throw bad(`not an engine address; ${examples}`);
    }
    // HOST:PORT without a scheme is tcp, as for the docker CLI; a bare word is more likely a container name.
    return { kind: 'tcp', scheme: 'tcp', ...hostAndPort(address, bad) };
  }
  const rest = address.slice(scheme.length + 3);
  if (rest.includes('://')) throw bad(`more than one scheme; ${examples}`);
  if (scheme === 'unix') {
    if (!rest) throw bad('no socket path after unix://; give it whole, e.g. unix:///var/run/docker.sock');
    return { kind: 'unix', path: rest };
  }
  if (scheme !== 'tcp' && scheme !== 'http' && scheme !== 'https' && scheme !== 'ssh') {
    throw bad(`unsupported scheme ${scheme}://; use unix://, tcp:// or ssh://`);
  }
  const authority = /^[^/?#]*/.exec(rest)![0];
  const tail = rest.slice(authority.length);
  if (tail && tail !== '/') throw bad(`unexpected ${JSON.stringify(tail)} after the host; ${examples}`);
  const at = authority.lastIndexOf('@');
  const userinfo = at >= 0 ? authority.slice(0, at) : undefined;
  const target = hostAndPort(authority.slice(at + 1), bad);
  if (scheme !== 'ssh') {
    if (userinfo !== undefined) throw bad(`a ${scheme}:// address takes no user`);
    return { kind: 'tcp', scheme, ...target };
  }
  if (userinfo !== undefined) {
    if (userinfo.includes(':')) throw bad('a password in the address is not supported; use ssh-agent');
    if (!/^[A-Za-z0-9._][A-Za-z0-9._-]*\$?$/.test(userinfo))
      throw bad(`${JSON.stringify(userinfo)} is not a user name`);
  }
  return { kind: 'ssh', ...(userinfo ? { user: userinfo } : {}), ...target };
}

function hostAndPort(text: string, bad: (reason: string) => UsageError): { host: string; port?: number } {
  let host: string;
  let port: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    host = close > 0 ? text.slice(1, close) : '';
    const after = close > 0 ? text.slice(close + 1) : '';
    if (!isIPv6(host) || (after && !after.startsWith(':'))) throw bad(`${JSON.stringify(text)} is not a host`);
    if (after) port = after.slice(1);
  } else {
    if (text.indexOf(':') !== text.lastIndexOf(':'))
      throw bad('an IPv6 address goes in brackets, e.g. tcp://[::1]:2375');
    const colon = text.indexOf(':');
    host = colon >= 0 ? text.slice(0, colon) : text;
    if (colon >= 0) port = text.slice(colon + 1);
    if (!host) throw bad(`no host; ${examples}`);
    if (!hostnamePattern.test(host)) throw bad(`${JSON.stringify(host)} is not a host name or address`);
  }
  if (port === undefined) return { host };
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    throw bad(port ? `port ${port} is not a port (1 to 65535)` : 'no port after ":"');
  }
  return { host, port: Number(port) };
}
