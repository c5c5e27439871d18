import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { resolveEndpoint } from '../../src/docker/connect.js';

describe('resolveEndpoint', () => {
  let certs: string;
  beforeAll(() => {
    certs = mkdtempSync(join(tmpdir(), 'firebreak-certs-'));
    writeFileSync(join(certs, 'ca.pem'), 'CA PEM');
    writeFileSync(join(certs, 'cert.pem'), 'CERT PEM');
    writeFileSync(join(certs, 'key.pem'), 'KEY PEM');
  });
  afterAll(() => rmSync(certs, { recursive: true, force: true }));

  it('uses the local socket when neither --host nor DOCKER_HOST is given', () => {
    expect(resolveEndpoint(undefined, {})).toEqual({
      label: 'unix:///var/run/docker.sock',
      source: 'default socket',
      options: { socketPath: '/var/run/docker.sock' },
    });
  });

  it('reads an empty DOCKER_HOST as unset, as the docker CLI does', () => {
    expect(resolveEndpoint(undefined, { DOCKER_HOST: '' }).options).toEqual({ socketPath: '/var/run/docker.sock' });
    expect(resolveEndpoint(undefined, { DOCKER_HOST: '  ' }).options).toEqual({ socketPath: '/var/run/docker.sock' });
  });

  it('reads a unix:// address as a socket path', () => {
    expect(resolveEndpoint('unix:///run/user/1000/docker.sock', {})).toEqual({
      label: 'unix:///run/user/1000/docker.sock',
      source: '--host',
      options: { socketPath: '/run/user/1000/docker.sock' },
    });
  });

  it('reads a bare absolute path as a socket path', () => {
    expect(resolveEndpoint('/tmp/docker.sock', {})).toEqual({
      label: 'unix:///tmp/docker.sock',
      source: '--host',
      options: { socketPath: '/tmp/docker.sock' },
    });
  });

  it('reads tcp://host:2375 as plain http', () => {
    expect(resolveEndpoint('tcp://10.0.0.5:2375', {})).toEqual({
      label: 'tcp://10.0.0.5:2375',
      source: '--host',
      options: { host: '10.0.0.5', port: 2375, protocol: 'http' },
    });
  });

  it('takes port 2375 when a tcp address has none, and tcp:// when it has no scheme', () => {
    expect(resolveEndpoint('tcp://docker.internal', {}).options).toEqual({
      host: 'docker.internal',
      port: 2375,
      protocol: 'http',
    });
    expect(resolveEndpoint('docker.internal:2375', {}).options).toEqual({
      host: 'docker.internal',
      port: 2375,
      protocol: 'http',
    });
  });

  it('speaks https on port 2376', () => {
    expect(resolveEndpoint('tcp://10.0.0.5:2376', {})).toEqual({
      label: 'tcp://10.0.0.5:2376 (TLS)',
      source: '--host',
      options: { host: '10.0.0.5', port: 2376, protocol: 'https' },
    });
  });

  it('speaks https for an https:// address', () => {
    expect(resolveEndpoint('https://10.0.0.5:2400', {}).options.protocol).toBe('https');
  });

  it('speaks https with the certificates of DOCKER_CERT_PATH when DOCKER_TLS_VERIFY=1', () => {
    const endpoint = resolveEndpoint('tcp://10.0.0.5:2375', { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs });
    expect(endpoint.label).toBe('tcp://10.0.0.5:2375 (TLS)');
    expect(endpoint.options.protocol).toBe('https');
    expect(endpoint.options.ca?.toString()).toBe('CA PEM');
    expect(endpoint.options.cert?.toString()).toBe('CERT PEM');
    expect(endpoint.options.key?.toString()).toBe('KEY PEM');
  });

  it('reads the certificates for port 2376 too', () => {
    const endpoint = resolveEndpoint('tcp://10.0.0.5:2376', { DOCKER_CERT_PATH: certs });
    expect(endpoint.options.ca).toBeInstanceOf(Buffer);
    expect(endpoint.options.key?.toString()).toBe('KEY PEM');
  });

  it('does not read certificates for plain http', () => {
    const endpoint = resolveEndpoint('tcp://10.0.0.5:2375', { DOCKER_CERT_PATH: certs });
    expect(endpoint.options).toEqual({ host: '10.0.0.5', port: 2375, protocol: 'http' });
  });

  it('rejects a DOCKER_CERT_PATH without the certificate files', () => {
    const empty = mkdtempSync(join(tmpdir(), 'firebreak-nocerts-'));
    try {
      expect(() => resolveEndpoint('tcp://10.0.0.5:2376', { DOCKER_CERT_PATH: empty })).toThrow(UsageError);
      expect(() => resolveEndpoint('tcp://10.0.0.5:2376', { DOCKER_CERT_PATH: empty })).toThrow(
        `DOCKER_CERT_PATH: ${join(empty, 'ca.pem')} does not exist`,
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('reads ssh://user@host with port 22, the ssh agent and a bounded handshake', () => {
    const endpoint = resolveEndpoint('ssh://ops@bastion.example', { SSH_AUTH_SOCK: '/tmp/agent.sock' });
    expect(endpoint).toMatchObject({
      label: 'ssh://ops@bastion.example',
      options: {
        protocol: 'ssh',
        host: 'bastion.example',
        port: 22,
        username: 'ops',
        sshOptions: { agent: '/tmp/agent.sock', readyTimeout: 10_000 },
      },
    });
    // The host key is checked against known_hosts (known-hosts.ts), never taken on trust.
    expect(endpoint.options.sshOptions?.hostVerifier).toBeTypeOf('function');
  });

  it('reads the port of an ssh address and, as ssh does, takes the local user when none is given', () => {
    const endpoint = resolveEndpoint('ssh://bastion.example:2222', {});
    expect(endpoint.options.port).toBe(2222);
    expect(endpoint.options.username).toBe(userInfo().username);
    expect(endpoint.label).toBe(`ssh://${userInfo().username}@bastion.example:2222`);
  });

  it('names an IPv6 engine in brackets', () => {
    expect(resolveEndpoint('tcp://[::1]:2375', {})).toEqual({
      label: 'tcp://[::1]:2375',
      source: '--host',
      options: { host: '::1', port: 2375, protocol: 'http' },
    });
  });

  it('rejects an unsupported scheme', () => {
    expect(() => resolveEndpoint('ftp://10.0.0.5', {})).toThrow(UsageError);
    expect(() => resolveEndpoint('ftp://10.0.0.5', {})).toThrow('unsupported scheme ftp:');
    expect(() => resolveEndpoint('npipe:////./pipe/docker_engine', {})).toThrow(UsageError);
  });

  it('rejects text that is not an address', () => {
    expect(() => resolveEndpoint('not an address', {})).toThrow(UsageError);
    expect(() => resolveEndpoint('not an address', {})).toThrow('--host "not an address": not an engine address');
  });

  // Each of these once fell back to DOCKER_HOST or the local socket: an explicit engine must be used or refused.
  const incomplete: Array<[string, string]> = [
    ['tcp://', '--host "tcp://": no host'],
    ['tcp://:2375', '--host "tcp://:2375": no host'],
    ['tcp://  ', '--host "tcp://  ": no host'],
    ['http://', '--host "http://": no host'],
    ['https://:2376', '--host "https://:2376": no host'],
    ['ssh://', '--host "ssh://": no host'],
    ['ssh://ops@', '--host "ssh://ops@": no host'],
    ['ssh://ops@:22', '--host "ssh://ops@:22": no host'],
    ['unix://', '--host "unix://": no socket path after unix://'],
    ['tcp://10.0.0.5:', '--host "tcp://10.0.0.5:": no port after ":"'],
    ['tcp://10.0.0.5:0', '--host "tcp://10.0.0.5:0": port 0 is not a port (1 to 65535)'],
    ['tcp://10.0.0.5:65536', '--host "tcp://10.0.0.5:65536": port 65536 is not a port'],
    ['tcp://10.0.0.5:99999999', 'port 99999999 is not a port'],
    ['tcp://10.0.0.5:http', 'port http is not a port'],
    ['ssh://ops@bastion:70000', 'port 70000 is not a port'],
    ['tcp://10.0.0.5:2375/v1.41', 'unexpected "/v1.41" after the host'],
    ['tcp://ops@10.0.0.5:2375', 'a tcp:// address takes no user'],
    ['ssh://ops:secret@bastion', 'a password in the address is not supported'],
    ['ssh://bastion/path', 'unexpected "/path" after the host'],
    ['tcp://web 1:2375', '"web 1" is not a host name or address'],
    ['tcp://::1:2375', 'an IPv6 address goes in brackets'],
    ['tcp://[nonsense]:2375', '"[nonsense]:2375" is not a host'],
    ['tcp://tcp://10.0.0.5', '--host "tcp://tcp://10.0.0.5": more than one scheme'],
    ['web-1', '--host "web-1": not an engine address'],
    ['://10.0.0.5', 'not an engine address'],
    ['fd://', 'unsupported scheme fd://'],
  ];
  for (const [value, message] of incomplete) {
    it(`refuses --host ${JSON.stringify(value)} with exit 2, even with DOCKER_HOST set`, () => {
      const attempt = () => resolveEndpoint(value, { DOCKER_HOST: 'unix:///var/run/docker.sock' });
      expect(attempt).toThrow(UsageError);
      expect(attempt).toThrow(message);
    });
  }

  it('refuses an empty --host instead of falling back to DOCKER_HOST or the local socket', () => {
    for (const value of ['', '   ']) {
      expect(() => resolveEndpoint(value, { DOCKER_HOST: 'tcp://10.0.0.7:2375' })).toThrow(UsageError);
      expect(() => resolveEndpoint(value, {})).toThrow('--host is empty: give an engine address');
    }
  });

  it('names DOCKER_HOST when the bad address came from there', () => {
    expect(() => resolveEndpoint(undefined, { DOCKER_HOST: 'tcp://' })).toThrow('DOCKER_HOST "tcp://": no host');
  });

  it('keeps a message on one line whatever the value holds', () => {
    expect(() => resolveEndpoint('tcp://a\nb', {})).toThrow(/^--host "tcp:\/\/a\\nb": [^\n]*$/);
  });

  it('uses DOCKER_HOST when no --host is given', () => {
    expect(resolveEndpoint(undefined, { DOCKER_HOST: 'tcp://10.0.0.7:2375' }).label).toBe('tcp://10.0.0.7:2375');
    expect(resolveEndpoint(undefined, { DOCKER_HOST: 'unix:///custom.sock' }).options).toEqual({
      socketPath: '/custom.sock',
    });
  });

  it('prefers --host over DOCKER_HOST', () => {
    expect(resolveEndpoint('unix:///mine.sock', { DOCKER_HOST: 'tcp://10.0.0.7:2375' }).options).toEqual({
      socketPath: '/mine.sock',
    });
  });

  it('reads process.env when no environment is passed', () => {
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = 'tcp://10.9.8.7:2375';
    try {
      expect(resolveEndpoint(undefined).label).toBe('tcp://10.9.8.7:2375');
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    }
  });
});
