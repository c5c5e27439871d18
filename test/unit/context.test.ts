// Contexts as the real docker CLI writes them: each test makes its own DOCKER_CONFIG with
// `docker context create` (no engine is needed for that) and reads it back with resolveEndpoint.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { describeChoice, resolveEndpoint } from '../../src/docker/connect.js';
import { knownContexts } from '../../src/docker/context.js';

let config: string;
let certs: string;

function dockerCli(...args: string[]): void {
  execFileSync('docker', args, { env: { ...process.env, DOCKER_CONFIG: config }, stdio: 'pipe' });
}

beforeAll(() => {
  config = mkdtempSync(join(tmpdir(), 'firebreak-dockercfg-'));
  certs = mkdtempSync(join(tmpdir(), 'firebreak-ctxcerts-'));
  // The docker CLI checks that the files are PEM certificates and a key: a real (throwaway) pair.
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=engine.example',
      '-keyout',
      join(certs, 'key.pem'),
      '-out',
      join(certs, 'cert.pem'),
    ],
    { stdio: 'pipe' },
  );
  writeFileSync(join(certs, 'ca.pem'), readFileSync(join(certs, 'cert.pem')));
  dockerCli('context', 'create', 'plain', '--docker', 'host=unix:///run/plain.sock');
  dockerCli(
    'context',
    'create',
    'secure',
    '--docker',
    `host=tcp://engine.example:2376,ca=${certs}/ca.pem,cert=${certs}/cert.pem,key=${certs}/key.pem`,
  );
  dockerCli('context', 'create', 'loose', '--docker', 'host=tcp://10.9.8.7:2376,skip-tls-verify=true');
  dockerCli('context', 'create', 'remote', '--docker', 'host=ssh://ops@db1.example:2222');
});
afterAll(() => {
  rmSync(config, { recursive: true, force: true });
  rmSync(certs, { recursive: true, force: true });
});

const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ DOCKER_CONFIG: config, HOME: config, ...extra });

describe('Docker contexts', () => {
  it('reads a context the docker CLI created, by --context, and says so', () => {
    const endpoint = resolveEndpoint({ context: 'plain' }, env());
    expect(endpoint).toMatchObject({
      label: 'unix:///run/plain.sock',
      source: '--context',
      context: 'plain',
      options: { socketPath: '/run/plain.sock' },
    });
    expect(describeChoice(endpoint)).toBe('context plain from --context');
  });

  it("reads a TLS context's certificates from contexts/tls and verifies the engine with them", () => {
    const endpoint = resolveEndpoint({ context: 'secure' }, env());
    expect(endpoint.label).toBe('tcp://engine.example:2376 (TLS)');
    expect(endpoint.options).toMatchObject({ host: 'engine.example', port: 2376, protocol: 'https' });
    expect(endpoint.options.ca?.toString()).toBe(readFileSync(join(certs, 'ca.pem'), 'utf8'));
    expect(endpoint.options.cert?.toString()).toBe(readFileSync(join(certs, 'cert.pem'), 'utf8'));
    expect(endpoint.options.key?.toString()).toMatch(/PRIVATE KEY/);
    expect(endpoint.options.agent).toBeUndefined();
  });

  it('honours SkipTLSVerify, and names the engine as not verified', () => {
    const endpoint = resolveEndpoint({ context: 'loose' }, env());
    expect(endpoint.label).toBe('tcp://10.9.8.7:2376 (TLS, not verified)');
    expect(endpoint.options.protocol).toBe('https');
    expect(endpoint.options.agent?.options.rejectUnauthorized).toBe(false);
  });

  it('checks the host key of an ssh context against known_hosts, as for --host ssh://', () => {
    const endpoint = resolveEndpoint({ context: 'remote' }, env());
    expect(endpoint.label).toBe('ssh://ops@db1.example:2222');
    expect(endpoint.hostKey).toBeDefined();
    expect(endpoint.options.sshOptions?.hostVerifier?.(Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAIA==', 'base64'))).toBe(
      false,
    );
    expect(endpoint.hostKey?.refusal).toMatch(/\[db1\.example\]:2222 .* is not in ~\/\.ssh\/known_hosts/);
  });

  it('follows the docker CLI: --context, --host, DOCKER_HOST, DOCKER_CONTEXT, currentContext, the socket', () => {
    const all = env({ DOCKER_HOST: 'unix:///run/env.sock', DOCKER_CONTEXT: 'secure' });
    writeFileSync(join(config, 'config.json'), JSON.stringify({ currentContext: 'loose' }));
    try {
      expect(resolveEndpoint({ context: 'plain' }, all)).toMatchObject({ source: '--context', context: 'plain' });
      expect(resolveEndpoint({ host: 'unix:///run/flag.sock' }, all)).toMatchObject({
        source: '--host',
        label: 'unix:///run/flag.sock',
      });
      expect(resolveEndpoint({}, all)).toMatchObject({ source: 'DOCKER_HOST', label: 'unix:///run/env.sock' });
      expect(resolveEndpoint({}, env({ DOCKER_CONTEXT: 'secure' }))).toMatchObject({
        source: 'DOCKER_CONTEXT',
        context: 'secure',
      });
      expect(resolveEndpoint({}, env())).toMatchObject({ source: 'currentContext', context: 'loose' });
    } finally {
      rmSync(join(config, 'config.json'));
    }
    expect(resolveEndpoint({}, env())).toMatchObject({
      source: 'default socket',
      label: 'unix:///var/run/docker.sock',
    });
  });

  it('reads currentContext from the config.json that `docker context use` writes', () => {
    dockerCli('context', 'use', 'plain');
    try {
      expect(JSON.parse(readFileSync(join(config, 'config.json'), 'utf8')).currentContext).toBe('plain');
      expect(resolveEndpoint({}, env())).toMatchObject({ source: 'currentContext', label: 'unix:///run/plain.sock' });
    } finally {
      dockerCli('context', 'use', 'default');
    }
  });

  it('reads the default context as DOCKER_HOST, else the local socket', () => {
    expect(resolveEndpoint({ context: 'default' }, env())).toMatchObject({
      label: 'unix:///var/run/docker.sock',
      context: 'default',
    });
    expect(resolveEndpoint({ context: 'default' }, env({ DOCKER_HOST: 'tcp://10.0.0.5:2375' }))).toMatchObject({
      label: 'tcp://10.0.0.5:2375',
      context: 'default',
      source: '--context',
    });
  });

  it('refuses --context together with --host (exit 2), as the docker CLI does', () => {
    expect(() => resolveEndpoint({ context: 'plain', host: 'unix:///x.sock' }, env())).toThrow(UsageError);
    expect(() => resolveEndpoint({ context: 'plain', host: 'unix:///x.sock' }, env())).toThrow(/--context and --host/);
  });

  it('refuses an unknown context (exit 2), listing the contexts there are, never falling back', () => {
    const attempt = () => resolveEndpoint({}, env({ DOCKER_CONTEXT: 'prod' }));
    expect(attempt).toThrow(UsageError);
    expect(attempt).toThrow(
      'context "prod" (DOCKER_CONTEXT) does not exist; known contexts: default, loose, plain, remote, secure',
    );
    expect(knownContexts(env())).toEqual(['default', 'loose', 'plain', 'remote', 'secure']);
  });

  it('refuses a config.json that is not JSON rather than guess the engine', () => {
    writeFileSync(join(config, 'config.json'), '{ currentContext: ');
    try {
      expect(() => resolveEndpoint({}, env())).toThrow(/config\.json is not JSON/);
    } finally {
      rmSync(join(config, 'config.json'));
    }
  });
});
