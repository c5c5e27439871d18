// A Docker context over TLS, for real: the private engine also listens on tcp://ADDRESS:2376 with
// --tlsverify, through a veth pair into its namespace, with certificates made here with openssl.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { usePrivateEngine } from '../setup/private-engine.js';
import { runCli } from './cli.js';
import { tempDir } from './bundle-files.js';

const certs = tempDir('firebreak-tls-');
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: certs, stdio: 'pipe' });
const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function makeCa(name: string): void {
  openssl(
    'req',
    '-x509',
    ...newKey,
    '-days',
    '1',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    `${name}-key.pem`,
    '-out',
    `${name}.pem`,
  );
}

function signed(name: string, ca: string, extension: string): void {
  writeFileSync(join(certs, `${name}.ext`), `${extension}\n`);
  openssl('req', ...newKey, '-subj', `/CN=${name}`, '-keyout', `${name}-key.pem`, '-out', `${name}.csr`);
  openssl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}-key.pem`,
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.pem`,
  );
}

const privateEngine = usePrivateEngine({
  tls: (address) => {
    makeCa('ca');
    makeCa('other-ca');
    signed('server', 'ca', `subjectAltName=IP:${address}\nextendedKeyUsage=serverAuth`);
    signed('client', 'ca', 'extendedKeyUsage=clientAuth');
    return { ca: join(certs, 'ca.pem'), cert: join(certs, 'server.pem'), key: join(certs, 'server-key.pem') };
  },
});

describe('a TLS context', () => {
  let config: string;
  let container: string;
  let engineId: string;
  const env = () => ({ DOCKER_CONFIG: config, DOCKER_HOST: undefined, DOCKER_CONTEXT: undefined });

  beforeAll(async () => {
    config = tempDir('firebreak-dockercfg-');
    const docker = (...args: string[]) =>
      execFileSync('docker', args, { env: { ...process.env, DOCKER_CONFIG: config } });
    const host = privateEngine().tlsHost!;
    const client = `cert=${certs}/client.pem,key=${certs}/client-key.pem`;
    docker('context', 'create', 'verified', '--docker', `host=${host},ca=${certs}/ca.pem,${client}`);
    docker('context', 'create', 'wrong-ca', '--docker', `host=${host},ca=${certs}/other-ca.pem,${client}`);
    docker(
      'context',
      'create',
      'unverified',
      '--docker',
      `host=${host},ca=${certs}/other-ca.pem,${client},skip-tls-verify=true`,
    );
    container = (await privateEngine().run({})).name;
    engineId = ((await privateEngine().docker.info()) as { ID: string }).ID;
  });

  it('reaches the engine over verified TLS with the context certificates, and names it so', async () => {
    const run = await runCli(['pause', container, '--context', 'verified', '--dry-run', '--json'], { env: env() });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).engine).toMatchObject({
      endpoint: `${privateEngine().tlsHost} (TLS)`,
      id: engineId,
      source: '--context',
      context: 'verified',
    });
  });

  it('refuses an engine whose certificate the context CA did not sign (exit 3), naming TLS', async () => {
    const run = await runCli(['pause', container, '--context', 'wrong-ca', '--dry-run'], { env: env() });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/context wrong-ca from --context\): TLS: /);
  });

  it('honours SkipTLSVerify, and says the engine was not verified', async () => {
    const run = await runCli(['pause', container, '--context', 'unverified', '--dry-run'], { env: env() });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`engine ${privateEngine().tlsHost} (TLS, not verified), chosen by context unverified`);
  });
});
