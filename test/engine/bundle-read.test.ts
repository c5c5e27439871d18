// Signed bundles read without tar: --sign checked by ssh-keygen and by bundle verify, then
// bundle list, cat and extract on the same bundle, and every --json document against schemas/.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './bundle-files.js';
import { REPO_ROOT, runCli } from './cli.js';
import { inspectContainer, startContainer, useHarness, type TestContainer } from './harness.js';

useHarness();

const ajv = new Ajv2020({ strict: true, allErrors: true });
for (const name of readdirSync(join(REPO_ROOT, 'schemas')))
  ajv.addSchema(JSON.parse(readFileSync(join(REPO_ROOT, 'schemas', name), 'utf8')));

/** Parses stdout as one document and checks it against the schema its `schema` field names. */
function checkedDocument(stdout: string): any {
  const doc = JSON.parse(stdout);
  const kind = /^firebreak\.([a-z0-9-]+)\/v1$/.exec(doc.schema ?? '')?.[1];
  expect(kind, `no schema field in ${stdout.slice(0, 200)}`).toBeDefined();
  const validate = ajv.getSchema(`https://firebreak.dev/schemas/${kind}.v1.json`);
  expect(validate, `schemas/${kind}.v1.json is missing`).toBeDefined();
  expect(validate!(doc), JSON.stringify(validate!.errors)).toBe(true);
  return doc;
}

let container: TestContainer;
let evidence: string;
let bundle: string;
let keyDir: string;
let allowedSigners: string;
let runDoc: any;

beforeAll(async () => {
  container = await startContainer();
  evidence = tempDir();
  keyDir = tempDir();
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice@example', '-f', join(keyDir, 'id')]);
  const publicKey = readFileSync(join(keyDir, 'id.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
  allowedSigners = join(keyDir, 'allowed_signers');
  writeFileSync(allowedSigners, `alice@example ${publicKey}\n`);
  const result = await runCli(['pause', container.name, '--evidence-dir', evidence, '--json'], {
    env: { FIREBREAK_SIGNING_KEY: join(keyDir, 'id') },
  });
  expect(result.code, result.stderr).toBe(0);
  runDoc = checkedDocument(result.stdout);
  bundle = runDoc.bundle.path;
});

function sshVerify(file: string): { status: number | null; output: string } {
  const run = spawnSync(
    'ssh-keygen',
    ['-Y', 'verify', '-f', allowedSigners, '-I', 'alice@example', '-n', 'firebreak', '-s', `${file}.sig`],
    { input: readFileSync(file), encoding: 'utf8' },
  );
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('signed bundles', () => {
  it('signs the bundle so that ssh-keygen -Y verify and bundle verify --allowed-signers accept it', async () => {
    expect(runDoc.signature).toMatchObject({ path: `${bundle}.sig`, identity: 'alice@example' });
    expect(sshVerify(bundle)).toMatchObject({
      status: 0,
      output: expect.stringContaining('Good "firebreak" signature'),
    });
    const ours = await runCli(['bundle', 'verify', bundle, '--allowed-signers', allowedSigners, '--json']);
    expect(ours.code, ours.stdout).toBe(0);
    expect(checkedDocument(ours.stdout).signature).toMatchObject({ ok: true, principals: ['alice@example'] });
  });

  it('records the signer and the key fingerprint ssh-keygen -l prints in bag-info.txt', async () => {
    const info = await runCli(['bundle', 'cat', bundle, 'bag-info.txt']);
    const fingerprint = execFileSync('ssh-keygen', ['-l', '-f', join(keyDir, 'id.pub')], { encoding: 'utf8' }).split(
      ' ',
    )[1];
    expect(info.stdout).toContain('Signer-Identity: alice@example\n');
    expect(info.stdout).toContain(`Signer-Key-Fingerprint: ${fingerprint}\n`);
  });

  it('fails both ssh-keygen and bundle verify (exit 5) after one byte of the bundle changes', async () => {
    const copy = join(tempDir(), 'copy.tar.gz');
    const bytes = readFileSync(bundle);
    bytes[bytes.length - 10] ^= 0x01;
    writeFileSync(copy, bytes);
    writeFileSync(`${copy}.sig`, readFileSync(`${bundle}.sig`));
    expect(sshVerify(copy).status).not.toBe(0);
    const ours = await runCli(['bundle', 'verify', copy, '--allowed-signers', allowedSigners]);
    expect(ours.code).toBe(5);
    expect(ours.stdout).toContain('signature does not verify');
  });

  it('refuses an encrypted key with exit 2 before it pauses anything', async () => {
    const dir = tempDir();
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret', '-f', join(dir, 'locked')]);
    const other = await startContainer();
    const result = await runCli(['pause', other.name, '--evidence-dir', tempDir(), '--sign', join(dir, 'locked')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^firebreak: the signing key is encrypted/);
    expect((await inspectContainer(other.id)).State.Paused).toBe(false);
  });
});

describe('reading bundles without tar', () => {
  it('lists the bundle with its time, playbook, target, status and that it verifies', async () => {
    const result = await runCli(['bundle', 'list', '--evidence-dir', evidence, '--json']);
    expect(result.code, result.stdout).toBe(0);
    const doc = checkedDocument(result.stdout);
    expect(doc.bundles).toEqual([
      expect.objectContaining({
        path: bundle,
        playbook: 'pause',
        targets: [container.name],
        status: 'succeeded',
        verified: true,
        signed: true,
      }),
    ]);
    const text = await runCli(['bundle', 'list', '--evidence-dir', evidence, '--incident', 'INC-none']);
    expect(text.stdout).toBe(`no bundles of incident INC-none in ${evidence}\n`);
  });

  it('streams one artifact with or without data/, and names close matches for an unknown path', async () => {
    const inspect = await runCli(['bundle', 'cat', bundle, `targets/${container.name}/inspect.json`]);
    expect(inspect.code).toBe(0);
    expect(JSON.parse(inspect.stdout).Id).toBe(container.id);
    const same = await runCli(['bundle', 'cat', bundle, `data/targets/${container.name}/inspect.json`]);
    expect(same.stdout).toBe(inspect.stdout);
    const typo = await runCli(['bundle', 'cat', bundle, `targets/${container.name}/inspekt.json`]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain(`did you mean data/targets/${container.name}/inspect.json`);
  });

  it('extracts the bag so that its manifest checks with sha256sum', async () => {
    const dest = join(tempDir(), 'out');
    const result = await runCli(['bundle', 'extract', bundle, dest, '--json']);
    expect(result.code, result.stdout).toBe(0);
    expect(checkedDocument(result.stdout).refused).toEqual([]);
    const [bag] = readdirSync(dest);
    const check = execFileSync('sha256sum', ['-c', 'manifest-sha256.txt'], { cwd: join(dest, bag!), encoding: 'utf8' });
    expect(check).toContain(`data/targets/${container.name}/inspect.json: OK`);
    expect((await runCli(['bundle', 'extract', bundle, dest])).code).toBe(2);
  });
});

describe('live progress', () => {
  it('prints bytes so far, rate and elapsed for an export in a log, and nothing with --json', async () => {
    const dir = tempDir();
    const playbook = join(dir, 'export.yaml');
    writeFileSync(playbook, 'name: export-only\nsteps:\n  - id: export\n    uses: evidence.export\n');
    const env = { FIREBREAK_PROGRESS_EVERY: '0ms' };
    const logged = await runCli(['run', playbook, container.name, '--evidence-dir', dir], { env });
    expect(logged.code, logged.stderr).toBe(0);
    expect(logged.stderr).toMatch(
      new RegExp(
        `${container.name}: export \\(evidence\\.export\\): [0-9.]+ (B|KiB|MiB) so far, [0-9.]+ (B|KiB|MiB)/s, `,
      ),
    );
    const quiet = await runCli(['run', playbook, container.name, '--evidence-dir', dir, '--json'], { env });
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
  });
});

describe('every --json document has the documented shape', () => {
  it('matches its schema for the planning, playbook, report and recover commands', async () => {
    const runs = [
      ['isolate', container.name, '--dry-run', '--json'],
      ['playbooks', 'list', '--json'],
      ['playbooks', 'show', 'isolate', '--json'],
      ['playbooks', 'validate', 'isolate', '--json'],
      ['playbooks', 'schema', '--json'],
      ['report', bundle, '--json'],
      ['bundle', 'recover', '--evidence-dir', tempDir(), '--json'],
    ];
    for (const args of runs) {
      const result = await runCli(args);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
      checkedDocument(result.stdout);
    }
  });

  it('prints a firebreak.error/v1 document with the exit code for every command that takes --json', async () => {
    // One catch in the base command writes every error document: each command with --json must go through it.
    const { FirebreakCommand } = await import(join(REPO_ROOT, 'dist/cli/base.js'));
    const commands = listCommands(join(REPO_ROOT, 'dist/commands'));
    expect(commands.length).toBeGreaterThan(10);
    for (const [id, file] of commands) {
      const command = (await import(file)).default as { enableJsonFlag?: boolean; prototype: object };
      if (command.enableJsonFlag) expect(command.prototype instanceof FirebreakCommand, id).toBe(true);
    }
    const cases = [
      { args: ['throttle', '--json', '--no-such-flag'], exit: 2 },
      { args: ['bundle', 'verify', join(tempDir(), 'missing.tar.gz'), '--json'], exit: 2 },
      { args: ['unpause', 'firebreak-no-such-container-zz', '--json'], exit: 4 },
    ];
    for (const c of cases) {
      const result = await runCli(c.args);
      expect(result.code, `${c.args.join(' ')}: ${result.stdout}${result.stderr}`).toBe(c.exit);
      expect(checkedDocument(result.stdout)).toMatchObject({
        schema: 'firebreak.error/v1',
        status: 'failed',
        exitCode: c.exit,
      });
    }
  });
});

function listCommands(dir: string, prefix = ''): Array<[string, string]> {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry): Array<[string, string]> => {
    if (entry.isDirectory()) return listCommands(join(dir, entry.name), `${prefix}${entry.name}:`);
    return entry.name.endsWith('.js') ? [[`${prefix}${entry.name.replace(/\.js$/, '')}`, join(dir, entry.name)]] : [];
  });
}
