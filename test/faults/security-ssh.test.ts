// Security defaults, ssh://: the host key is checked against known_hosts, as the docker CLI has
// OpenSSH do it. A real SSH server on 127.0.0.1 (ssh2's Server, host keys made by ssh-keygen at
// test time) that forwards `docker system dial-stdio` to a loopback HTTP server answering like an
// engine. An unknown key and a changed key are refused before any login, exit 3, one line naming
// the host and the fix; the fix itself (ssh-keyscan, as the line says) then lets the run through;
// plain, hashed and [host]:port entries and ed25519, ecdsa and rsa keys are accepted. Each case is
// a `security` trial in the fault ledger.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../engine/bundle-files.js';
import { runCli } from '../engine/cli.js';
import { trial } from './ledger.js';

const dir = tempDir('firebreak-ssh-');
const keyTypes = ['ed25519', 'ecdsa', 'rsa'] as const;
type KeyType = (typeof keyTypes)[number];

/** `host_<type>` and `host_<type>.pub`, made by ssh-keygen. */
function hostKey(name: string, type: KeyType): { private: Buffer; public: string; fingerprint: string } {
  const path = join(dir, name);
  execFileSync(
    'ssh-keygen',
    ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048'] : []), '-N', '', '-C', '', '-f', path],
    { stdio: 'pipe' },
  );
  const fingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${path}.pub`], {
    encoding: 'utf8',
  }).split(/\s+/)[1]!;
  return {
    private: readFileSync(path),
    public: readFileSync(`${path}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' '),
    fingerprint,
  };
}

interface SshServer {
  port: number;
  logins: number;
  dials: number;
}
const closers: Array<() => void> = [];
let enginePort: number;

/**
 * An SSH server with `keys` as its host keys; every login is accepted, and dial-stdio reaches the
 * fake engine (or, with `docker: false`, is refused, as on a host without Docker).
 */
async function sshServer(keys: Buffer[], docker = true): Promise<SshServer> {
  const state: SshServer = { port: 0, logins: 0, dials: 0 };
  const server = new ssh2.Server({ hostKeys: keys }, (client) => {
    client.on('authentication', (ctx) => {
      state.logins++;
      ctx.accept();
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        accept().on('exec', (acceptExec, reject, info) => {
          if (!docker || info.command !== 'docker system dial-stdio') return reject();
          state.dials++;
          const channel = acceptExec();
          const socket = connect(enginePort, '127.0.0.1');
          channel.pipe(socket).pipe(channel);
          socket.on('error', () => channel.destroy());
        });
      });
    });
    client.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => server.close());
  state.port = (server.address() as AddressInfo).port;
  return state;
}

let keys: Record<KeyType, ReturnType<typeof hostKey>>;
let other: ReturnType<typeof hostKey>;

beforeAll(async () => {
  keys = {
    ed25519: hostKey('host_ed25519', 'ed25519'),
    ecdsa: hostKey('host_ecdsa', 'ecdsa'),
    rsa: hostKey('host_rsa', 'rsa'),
  };
  other = hostKey('other_ed25519', 'ed25519');
  const sockets = new Set<Socket>();
  const engine: HttpServer = createHttpServer((req, res) => {
    const json = (body: unknown) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.url?.endsWith('/_ping')) return res.end('OK');
    if (req.url?.includes('/version'))
      return json({ Version: '24.0.0', ApiVersion: '1.43', Os: 'linux', Arch: 'amd64' });
    // Every run asks the engine's ID: what records and locks are keyed by.
    if (req.url?.includes('/info')) return json({ ID: 'FAKE:ENGINE', Name: 'fake' });
    if (req.url?.includes('/containers/json')) return json([]);
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"page not found"}');
  });
  engine.on('connection', (s: Socket) => sockets.add(s));
  await new Promise<void>((resolve) => engine.listen(0, '127.0.0.1', resolve));
  enginePort = (engine.address() as AddressInfo).port;
  closers.push(() => {
    for (const s of sockets) s.destroy();
    engine.close();
  });
}, 60_000);

afterAll(() => {
  for (const close of closers) close();
});

/** A HOME whose ~/.ssh/known_hosts holds `lines`; no ssh agent, no ~/.ssh/config. */
function home(lines: string[]): string {
  const path = tempDir('firebreak-ssh-home-');
  mkdirSync(join(path, '.ssh'), { mode: 0o700 });
  writeFileSync(join(path, '.ssh', 'known_hosts'), lines.map((l) => `${l}\n`).join(''));
  return path;
}

const evidence = tempDir();
function isolate(server: SshServer, homeDir: string) {
  return runCli(['isolate', 'web-1', '--host', `ssh://fb@127.0.0.1:${server.port}`, '--evidence-dir', evidence], {
    env: { HOME: homeDir, SSH_AUTH_SOCK: undefined, DOCKER_HOST: undefined },
    timeoutMs: 30_000,
  });
}
const reached = 'firebreak: no container matches "web-1" (name, id or unique id prefix)';

describe('ssh:// host key', () => {
  it('refuses a host whose key known_hosts does not hold, before logging in, naming the fingerprint and the ssh-keyscan line; that line is the fix', () =>
    trial('security', 'ssh: unknown host key refused, then accepted after ssh-keyscan', async () => {
      const server = await sshServer([keys.ed25519.private]);
      const homeDir = home(['# no entry for this host', `[127.0.0.1]:1 ${other.public}`]);
      const result = await isolate(server, homeDir);
      expect(result.code).toBe(3);
      expect(result.stderr.trim().split('\n')).toEqual([
        `firebreak: cannot reach the Docker engine at ssh://fb@127.0.0.1:${server.port}: ssh: the host key of [127.0.0.1]:${server.port} ` +
          `(ssh-ed25519 key ${keys.ed25519.fingerprint}) is not in ~/.ssh/known_hosts or /etc/ssh/ssh_known_hosts: ` +
          `check that fingerprint with the host's administrator, then add it with \`ssh-keyscan -p ${server.port} 127.0.0.1 >> ~/.ssh/known_hosts\``,
      ]);
      expect(server.logins).toBe(0);

      // The fix as the line says it, with OpenSSH's own ssh-keyscan (asynchronously: the server runs in this process).
      const scanned = await promisify(execFile)('ssh-keyscan', ['-p', String(server.port), '127.0.0.1'], {
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(scanned.stdout).toContain(`[127.0.0.1]:${server.port} ${keys.ed25519.public}`);
      appendFileSync(join(homeDir, '.ssh', 'known_hosts'), scanned.stdout);
      const again = await isolate(server, homeDir);
      expect(again.stderr.trim()).toBe(reached);
      expect(again.code).toBe(4);
      expect(server.dials).toBeGreaterThan(0);
    }));

  it('refuses a changed key, naming the known_hosts line that holds the old one and how to remove it', () =>
    trial('security', 'ssh: changed host key refused', async () => {
      const server = await sshServer([keys.ed25519.private]);
      const result = await isolate(
        server,
        home(['# the old key of this host', `[127.0.0.1]:${server.port} ${other.public}`]),
      );
      expect(result.code).toBe(3);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toBe(
        `firebreak: cannot reach the Docker engine at ssh://fb@127.0.0.1:${server.port}: ssh: the host key of [127.0.0.1]:${server.port} has CHANGED: ` +
          `it shows ssh-ed25519 key ${keys.ed25519.fingerprint}, ~/.ssh/known_hosts:2 holds another; someone may be intercepting the connection, ` +
          `or the host was reinstalled: check the new fingerprint with its administrator, then remove that line (ssh-keygen -R '[127.0.0.1]:${server.port}') and add the new key`,
      );
      expect(server.logins).toBe(0);
    }));

  it("passes the handshake with a matching entry, then fails on the host's side, not on the key, when the host runs no Docker", () =>
    trial('security', 'ssh: matching entry passes the handshake', async () => {
      const server = await sshServer([keys.ed25519.private], false);
      const result = await isolate(server, home([`[127.0.0.1]:${server.port} ${keys.ed25519.public}`]));
      expect(result.code).toBe(3);
      expect(result.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(
          `^firebreak: cannot reach the Docker engine at ssh://fb@127\\.0\\.0\\.1:${server.port}: ssh: .*\\(the login worked, but the host did not run \`docker system dial-stdio\`: is Docker installed there, and may this user run it\\?\\)$`,
        ),
      ]);
      expect(result.stderr).not.toMatch(/host key|known_hosts|verification/i);
      expect(server.logins).toBeGreaterThan(0);
    }));

  it('accepts a hashed entry (ssh-keygen -H)', () =>
    trial('security', 'ssh: hashed known_hosts entry', async () => {
      const server = await sshServer([keys.ed25519.private]);
      const homeDir = home([`[127.0.0.1]:${server.port} ${keys.ed25519.public}`]);
      execFileSync('ssh-keygen', ['-H', '-f', join(homeDir, '.ssh', 'known_hosts')], { stdio: 'pipe' });
      expect(readFileSync(join(homeDir, '.ssh', 'known_hosts'), 'utf8')).toMatch(/^\|1\|[^|]+\|[^ ]+ ssh-ed25519 /);
      const result = await isolate(server, homeDir);
      expect(result.stderr.trim()).toBe(reached);
      expect(result.code).toBe(4);
    }));

  for (const type of ['ecdsa', 'rsa'] as const) {
    it(`accepts the ${type} key known_hosts holds for a server that offers ed25519, ecdsa and rsa keys, asking for that type first, as OpenSSH does`, () =>
      trial('security', `ssh: ${type} entry with a server offering three key types`, async () => {
        const server = await sshServer([keys.ed25519.private, keys.ecdsa.private, keys.rsa.private]);
        const result = await isolate(server, home([`[127.0.0.1]:${server.port} ${keys[type].public}`]));
        expect(result.stderr.trim()).toBe(reached);
        expect(result.code).toBe(4);
      }));
  }
});
