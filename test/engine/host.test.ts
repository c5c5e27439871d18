// --host as a user types it: an incomplete address, something that is not a Docker engine, an ssh
// host nobody answers on. Each ends with exit 2 or 3 and one line, and touches no engine.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { readdirSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from './bundle-files.js';
import { runCli } from './cli.js';
import { inspectContainer, startContainer, useHarness } from './harness.js';

useHarness();

let evidence: string;
beforeEach(() => {
  evidence = tempDir();
});

// Loopback only: the servers stand in for a wrong address, they never face the network.
const servers: Array<HttpServer | TcpServer> = [];
const sockets = new Set<Socket>();
afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function listen(server: HttpServer | TcpServer): Promise<number> {
  servers.push(server);
  server.on('connection', (socket: Socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

/** A web server that answers every request with `status` and an HTML page. */
function webServer(status: number): Promise<number> {
  const page = `<!DOCTYPE html><html><head><title>${status} Not Found</title></head><body><h1>Not Found</h1><p>nginx</p></body></html>`;
  return listen(createHttpServer((_, res) => res.writeHead(status, { 'Content-Type': 'text/html' }).end(page)));
}

const lines = (text: string) => text.split('\n').filter((line) => line.trim());

describe('--host that does not parse to a complete address', () => {
  for (const host of ['tcp://', 'tcp://:2375', 'ssh://', 'unix://', 'http://', '']) {
    it(`exits 2 on --host ${JSON.stringify(host)} with one line naming it, and touches nothing`, async () => {
      const c = await startContainer();
      // The local engine is right there, twice over: neither may stand in for the address given.
      const result = await runCli(['pause', c.name, '--host', host, '--evidence-dir', evidence], {
        env: { DOCKER_HOST: 'unix:///var/run/docker.sock' },
      });
      expect(result.code).toBe(2);
      expect(lines(result.stderr)).toHaveLength(1);
      expect(result.stderr).toMatch(host ? `--host ${JSON.stringify(host)}: ` : '--host is empty');
      expect(result.stdout).toBe('');
      expect((await inspectContainer(c.id)).State.Status).toBe('running');
      expect(readdirSync(evidence)).toEqual([]);
    });
  }
});

describe('--host that is not a Docker engine', () => {
  it('exits 3 with one line, without the HTML, when a web server answers 404', async () => {
    const port = await webServer(404);
    const result = await runCli([
      'forensics',
      'web-1',
      '--host',
      `tcp://127.0.0.1:${port}`,
      '--evidence-dir',
      evidence,
    ]);
    expect(result.code).toBe(3);
    expect(lines(result.stderr)).toEqual([
      `firebreak: tcp://127.0.0.1:${port} is not a Docker engine (it answered HTTP 404 to GET /version: 404 Not Found)`,
    ]);
    expect(result.stdout).toBe('');
    expect(readdirSync(evidence)).toEqual([]);
  });

  it('exits 3 when the server answers every request 200 with a page', async () => {
    const port = await webServer(200);
    const result = await runCli([
      'forensics',
      'web-1',
      '--host',
      `http://127.0.0.1:${port}`,
      '--evidence-dir',
      evidence,
    ]);
    expect(result.code).toBe(3);
    expect(lines(result.stderr)).toHaveLength(1);
    expect(result.stderr).toMatch(`tcp://127.0.0.1:${port} is not a Docker engine (it answered GET /`);
    expect(result.stderr).not.toMatch(/<html|<h1/i);
  });

  it('exits 3 when the server answers with JSON that is not the Engine API', async () => {
    const port = await listen(
      createHttpServer((_, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"ok"}')),
    );
    const result = await runCli(['isolate', 'web-1', '--host', `tcp://127.0.0.1:${port}`, '--evidence-dir', evidence]);
    expect(result.code).toBe(3);
    expect(lines(result.stderr)).toEqual([
      expect.stringMatching(
        `^firebreak: tcp://127.0.0.1:${port} is not a Docker engine \\(it answered GET /version with an object, not a Docker version document`,
      ),
    ]);
  });

  it('exits 3 within its deadline when the server accepts the connection and never answers', async () => {
    const port = await listen(createTcpServer(() => {}));
    const started = Date.now();
    const result = await runCli([
      'forensics',
      'web-1',
      '--host',
      `tcp://127.0.0.1:${port}`,
      '--evidence-dir',
      evidence,
    ]);
    expect(result.code).toBe(3);
    expect(lines(result.stderr)).toEqual([
      `firebreak: the Docker engine at tcp://127.0.0.1:${port} did not answer GET /version within 15s`,
    ]);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});

describe('--host ssh:// that cannot be reached', () => {
  it('exits 3 with one line when nothing listens on the port', async () => {
    const result = await runCli([
      'forensics',
      'web-1',
      '--host',
      'ssh://nobody@127.0.0.1:1',
      '--evidence-dir',
      evidence,
    ]);
    expect(result.code).toBe(3);
    expect(lines(result.stderr)).toEqual([
      'firebreak: cannot reach the Docker engine at ssh://nobody@127.0.0.1:1: ssh: ECONNREFUSED',
    ]);
  });

  it('exits 3 with one line when no user is given and nothing listens', async () => {
    const result = await runCli(['forensics', 'web-1', '--host', 'ssh://127.0.0.1:1', '--evidence-dir', evidence]);
    expect(result.code).toBe(3);
    expect(lines(result.stderr)).toEqual([
      expect.stringMatching(
        /^firebreak: cannot reach the Docker engine at ssh:\/\/[^@\s]+@127\.0\.0\.1:1: ssh: ECONNREFUSED$/,
      ),
    ]);
  });

  it('exits 3 with one line when the port speaks something other than ssh', async () => {
    const port = await webServer(404);
    const result = await runCli([
      'forensics',
      'web-1',
      '--host',
      `ssh://nobody@127.0.0.1:${port}`,
      '--evidence-dir',
      evidence,
    ]);
    expect(result.code).toBe(3);
    expect(lines(result.stderr)).toHaveLength(1);
    expect(result.stderr).toMatch(`firebreak: cannot reach the Docker engine at ssh://nobody@127.0.0.1:${port}: ssh: `);
  });

  it('exits 3, bounded by the handshake timeout, when the port accepts and never speaks', async () => {
    const port = await listen(createTcpServer(() => {}));
    const started = Date.now();
    const result = await runCli([
      'forensics',
      'web-1',
      '--host',
      `ssh://nobody@127.0.0.1:${port}`,
      '--evidence-dir',
      evidence,
    ]);
    expect(result.code).toBe(3);
    expect(lines(result.stderr)).toEqual([
      `firebreak: cannot reach the Docker engine at ssh://nobody@127.0.0.1:${port}: ssh: Timed out while waiting for handshake (no ssh handshake in time)`,
    ]);
    expect(Date.now() - started).toBeLessThan(25_000);
  });
});
