// Security defaults, tcp:// with TLS: verification is always on. A loopback HTTPS server that
// answers like a Docker engine, with certificates made by openssl at test time, is refused with
// exit 3 and one line naming the certificate problem (self-signed, another CA, another host), and
// sent no request; with its CA in DOCKER_CERT_PATH firebreak connects (and finds no container:
// exit 4). Each case is a `security` trial in the fault ledger.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../engine/bundle-files.js';
import { runCli } from '../engine/cli.js';
import { trial } from './ledger.js';

const dir = tempDir('firebreak-tls-');
const at = (name: string) => join(dir, name);
const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });

/** A key and a certificate for `subjectAltName`, signed by `ca` (or self-signed). */
function certificate(name: string, altName: string, ca?: string, extra: string[] = []): void {
  if (!ca) {
    openssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      at(`${name}.key`),
      '-out',
      at(`${name}.pem`),
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      `subjectAltName=${altName}`,
      ...extra,
    );
    return;
  }
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    at(`${name}.key`),
    '-out',
    at(`${name}.csr`),
    '-subj',
    `/CN=${name}`,
  );
  writeFileSync(at(`${name}.ext`), `subjectAltName=${altName}\n`);
  openssl(
    'x509',
    '-req',
    '-in',
    at(`${name}.csr`),
    '-CA',
    at(`${ca}.pem`),
    '-CAkey',
    at(`${ca}.key`),
    '-CAcreateserial',
    '-out',
    at(`${name}.pem`),
    '-days',
    '2',
    '-extfile',
    at(`${name}.ext`),
  );
}

/** A DOCKER_CERT_PATH: the CA to trust, and a client certificate that CA signed. */
function certPath(ca: string): string {
  const path = at(`certs-${ca}`);
  mkdirSync(path);
  certificate(`client-${ca}`, 'DNS:firebreak-client', ca);
  copyFileSync(at(`${ca}.pem`), join(path, 'ca.pem'));
  copyFileSync(at(`client-${ca}.pem`), join(path, 'cert.pem'));
  copyFileSync(at(`client-${ca}.key`), join(path, 'key.pem'));
  return path;
}

interface FakeEngine {
  port: number;
  requests: Array<{ url: string; clientCert: string }>;
}
const servers: Server[] = [];

/** An HTTPS server on loopback answering /_ping, /version and the container list as an engine would. */
async function fakeEngine(cert: string, clientCa?: string): Promise<FakeEngine> {
  const requests: FakeEngine['requests'] = [];
  const server = createServer(
    {
      key: readFileSync(at(`${cert}.key`)),
      cert: readFileSync(at(`${cert}.pem`)),
      ...(clientCa ? { ca: readFileSync(at(`${clientCa}.pem`)), requestCert: true, rejectUnauthorized: true } : {}),
    },
    (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      requests.push({ url: req.url ?? '', clientCert: String(peer?.subject?.CN ?? '') });
      const json = (body: unknown) =>
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.url?.endsWith('/_ping')) return res.end('OK');
      if (req.url?.includes('/version'))
        return json({ Version: '24.0.0', ApiVersion: '1.43', Os: 'linux', Arch: 'amd64' });
      if (req.url?.includes('/containers/json')) return json([]);
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"page not found"}');
    },
  );
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, requests };
}

let trusted: string;
let otherCa: string;
const home = tempDir('firebreak-tls-home-');

beforeAll(() => {
  certificate('ca', 'DNS:firebreak-test-ca', undefined, ['-addext', 'basicConstraints=critical,CA:TRUE']);
  certificate('other-ca', 'DNS:firebreak-other-ca', undefined, ['-addext', 'basicConstraints=critical,CA:TRUE']);
  certificate('self', 'IP:127.0.0.1');
  certificate('engine', 'IP:127.0.0.1', 'ca');
  certificate('elsewhere', 'DNS:engine.elsewhere.example', 'ca');
  trusted = certPath('ca');
  otherCa = certPath('other-ca');
});

afterAll(async () => {
  for (const server of servers) server.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

const evidence = tempDir();
/** firebreak isolate against the fake engine, with TLS on; HOME has no ~/.docker to fall back on. */
function isolate(port: number, env: Record<string, string | undefined>) {
  return runCli(['isolate', 'web-1', '--host', `tcp://127.0.0.1:${port}`, '--evidence-dir', evidence], {
    env: { HOME: home, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: undefined, DOCKER_HOST: undefined, ...env },
    timeoutMs: 30_000,
  });
}

describe('tcp:// with TLS', () => {
  const refused: Array<[string, string, () => string | undefined, RegExp]> = [
    [
      'a self-signed certificate, with a CA in DOCKER_CERT_PATH',
      'self',
      () => trusted,
      /TLS: the engine's certificate is self-signed and no CA given trusts it; put the CA that signed it in \$DOCKER_CERT_PATH\/ca\.pem \(DEPTH_ZERO_SELF_SIGNED_CERT/,
    ],
    [
      'a self-signed certificate, with no DOCKER_CERT_PATH (the system CAs)',
      'self',
      () => undefined,
      /\(DEPTH_ZERO_SELF_SIGNED_CERT/,
    ],
    [
      'a certificate from a CA that DOCKER_CERT_PATH does not hold',
      'engine',
      () => otherCa,
      /TLS: the engine's certificate is not signed by a trusted CA; .* \(UNABLE_TO_VERIFY_LEAF_SIGNATURE/,
    ],
    [
      'a certificate for another host, from the trusted CA',
      'elsewhere',
      () => trusted,
      /TLS: the engine's certificate is not for this host name or address \(ERR_TLS_CERT_ALTNAME_INVALID: .*127\.0\.0\.1/,
    ],
  ];
  for (const [what, cert, certs, message] of refused) {
    it(`refuses ${what}: exit 3, one line naming the problem, and no request sent`, () =>
      trial('security', `TLS refused: ${what}`, async () => {
        const engine = await fakeEngine(cert);
        const result = await isolate(engine.port, { DOCKER_CERT_PATH: certs() });
        expect(result.code).toBe(3);
        const lines = result.stderr.trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(
          new RegExp(`^firebreak: cannot reach the Docker engine at tcp://127\\.0\\.0\\.1:${engine.port} \\(TLS\\): `),
        );
        expect(lines[0]).toMatch(message);
        expect(engine.requests).toEqual([]);
      }));
  }

  it("connects when DOCKER_CERT_PATH holds the CA that signed the engine's certificate, presenting its client certificate", () =>
    trial('security', 'TLS verified with the CA of DOCKER_CERT_PATH', async () => {
      const engine = await fakeEngine('engine', 'ca');
      const result = await isolate(engine.port, { DOCKER_CERT_PATH: trusted });
      expect(result.stderr.trim()).toBe('firebreak: no container matches "web-1" (name, id or unique id prefix)');
      expect(result.code).toBe(4);
      expect(engine.requests.map((r) => r.url.replace(/^\/v[\d.]+/, ''))).toContain('/version');
      expect(new Set(engine.requests.map((r) => r.clientCert))).toEqual(new Set(['client-ca']));
    }));

  it('goes to the --host given, even when DOCKER_HOST names another engine (docker-modem reads DOCKER_HOST itself)', () =>
    trial('security', '--host wins over DOCKER_HOST inside docker-modem', async () => {
      const engine = await fakeEngine('engine');
      const result = await runCli(
        ['isolate', 'firebreak-no-such-container', '--host', 'unix:///var/run/docker.sock', '--evidence-dir', evidence],
        {
          env: {
            DOCKER_HOST: `tcp://127.0.0.1:${engine.port}`,
            DOCKER_TLS_VERIFY: '1',
            DOCKER_CERT_PATH: trusted,
            HOME: home,
          },
        },
      );
      expect(result.stderr.trim()).toBe(
        'firebreak: no container matches "firebreak-no-such-container" (name, id or unique id prefix)',
      );
      expect(result.code).toBe(4);
      expect(engine.requests).toEqual([]);
    }));
});
