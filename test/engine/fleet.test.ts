// One command across two real engines: the shared engine and a private one (its own dockerd in
// its own network namespace), plus an engine that is not there. Every check reads the engines'
// own view (inspect) and the bundles and index the runs leave.
import { execFileSync } from 'node:child_process';
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { beforeAll, describe, expect, it } from 'vitest';
import { usePrivateEngine } from '../setup/private-engine.js';
import { runCli } from './cli.js';
import { tempDir, unpackBundle } from './bundle-files.js';
import { docker, startContainer, uniqueName, useHarness } from './harness.js';

useHarness();
const privateEngine = usePrivateEngine();

const networksOf = async (engine: Docker, name: string) =>
  Object.keys((await engine.getContainer(name).inspect()).NetworkSettings.Networks ?? {});
const engineId = async (engine: Docker) => ((await engine.info()) as { ID: string }).ID;

// Each test runs several CLI commands against two engines: bounded generously for a loaded machine.
describe('a fleet of engines', () => {
  let work: string;
  let fleetFile: string;
  let deadFleet: string;
  let ids: { main: string; spare: string };

  beforeAll(async () => {
    work = tempDir('firebreak-fleet-');
    fleetFile = join(work, 'fleet.yaml');
    writeFileSync(
      fleetFile,
      [
        'engines:',
        '  - name: main',
        '    host: unix:///var/run/docker.sock',
        '    labels: { role: web, site: a }',
        '  - name: spare',
        `    host: ${privateEngine().host}`,
        '    labels: { role: web, site: b }',
        '',
      ].join('\n'),
    );
    deadFleet = join(work, 'dead.yaml');
    writeFileSync(
      deadFleet,
      `engines:\n  - name: main\n    host: unix:///var/run/docker.sock\n  - name: gone\n    host: unix://${work}/gone.sock\n`,
    );
    ids = { main: await engineId(docker()), spare: await engineId(privateEngine().docker) };
  }, 150_000);

  it('isolates and restores a container of one name on both engines in one command each, with one bundle per engine and an index that verifies', async () => {
    const name = uniqueName('fb-fleet');
    await startContainer({ name });
    await privateEngine().run({ name });
    const evidence = join(work, 'both');

    const isolate = await runCli(['isolate', name, '--fleet', fleetFile, '--evidence-dir', evidence, '--yes']);
    expect(isolate.code, isolate.stderr).toBe(0);
    expect(await networksOf(docker(), name)).toEqual([]);
    expect(await networksOf(privateEngine().docker, name)).toEqual([]);

    const bundles = readdirSync(evidence).filter((f) => f.endsWith('.tar.gz'));
    expect(bundles.map((f) => f.replace(/^\d{8}T\d{6}Z_/, '').split('_')[0]).sort()).toEqual([
      'isolate.main',
      'isolate.spare',
    ]);
    for (const [engine, id] of [
      ['main', ids.main],
      ['spare', ids.spare],
    ] as const) {
      const bag = unpackBundle(
        join(
          evidence,
          bundles.find((f) => f.includes(`isolate.${engine}_`))!,
        ),
      );
      expect(bag.read('bag-info.txt')).toContain(`Docker-Engine-Name: ${engine}\n`);
      expect(bag.read('bag-info.txt')).toContain(`Docker-Engine-ID: ${id}\n`);
      expect(bag.read('bag-info.txt')).toContain('Docker-Engine-Chosen-By: --host\n');
      expect(bag.json('data/run.json').engine).toMatchObject({ id, name: engine, source: '--host' });
    }

    const index = readdirSync(evidence).find((f) => f.endsWith('.index.json'))!;
    expect(isolate.stdout.trim().split('\n').pop()).toMatch(new RegExp(`^index ${join(evidence, index)} sha256 `));
    const listed = JSON.parse(readFileSync(join(evidence, index), 'utf8'));
    expect(listed.engines.map((e: any) => [e.name, e.exitCode, e.engineId])).toEqual([
      ['main', 0, ids.main],
      ['spare', 0, ids.spare],
    ]);
    const verified = await runCli(['bundle', 'verify', join(evidence, index)]);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/2 bundles of incident .*, all match/);

    // Each engine restores from its own record: the same name on the other engine is another container.
    const restore = await runCli(['restore-network', name, '--fleet', fleetFile, '--evidence-dir', evidence, '--yes']);
    expect(restore.code, restore.stdout + restore.stderr).toBe(0);
    expect(await networksOf(docker(), name)).toEqual(['bridge']);
    expect(await networksOf(privateEngine().docker, name)).toEqual(['bridge']);

    // A bundle changed after the run fails the index's check, exit 5.
    appendFileSync(join(evidence, bundles[1]!), Buffer.from([0]));
    const tampered = await runCli(['bundle', 'verify', join(evidence, index)]);
    expect(tampered.code).toBe(5);
    expect(tampered.stdout).toContain(bundles[1]!);
  }, 150_000);

  it('pins ENGINE/CONTAINER to one engine and picks engines by --select, leaving the other engine untouched', async () => {
    const name = uniqueName('fb-fleet');
    await startContainer({ name });
    await privateEngine().run({ name });
    const evidence = join(work, 'pinned');

    const pinned = await runCli(['pause', `spare/${name}`, '--fleet', fleetFile, '--evidence-dir', evidence, '--json']);
    expect(pinned.code, pinned.stderr).toBe(0);
    expect((await privateEngine().docker.getContainer(name).inspect()).State.Paused).toBe(true);
    expect((await docker().getContainer(name).inspect()).State.Paused).toBe(false);
    const doc = JSON.parse(pinned.stdout);
    expect(doc.schema).toBe('firebreak.fleet/v1');
    expect(doc.engines.map((e: any) => [e.name, e.status])).toEqual([
      ['main', 'skipped'],
      ['spare', 'succeeded'],
    ]);

    const selected = await runCli([
      'pause',
      name,
      '--fleet',
      fleetFile,
      '--select',
      'site=a',
      '--evidence-dir',
      evidence,
    ]);
    expect(selected.code, selected.stderr).toBe(0);
    expect((await docker().getContainer(name).inspect()).State.Paused).toBe(true);
    expect(selected.stdout).not.toContain('engine spare');

    const unknown = await runCli(['pause', `nowhere/${name}`, '--fleet', fleetFile, '--evidence-dir', evidence]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no engine named "nowhere" in this run (engines: main, spare)');
  }, 150_000);

  it('reports an engine that cannot be reached as exit 3, by name, and still acts on the others', async () => {
    const { name } = await startContainer({ name: uniqueName('fb-fleet') });
    const evidence = join(work, 'dead');

    const run = await runCli(['isolate', name, '--fleet', deadFleet, '--evidence-dir', evidence, '--json']);
    expect(run.code).toBe(3);
    expect(await networksOf(docker(), name)).toEqual([]);
    const doc = JSON.parse(run.stdout);
    expect(doc.exitCode).toBe(3);
    expect(doc.engines.map((e: any) => [e.name, e.exitCode])).toEqual([
      ['main', 0],
      ['gone', 3],
    ]);
    expect(doc.engines[1].error).toContain(`cannot reach the Docker engine at unix://${work}/gone.sock`);
    const index = JSON.parse(readFileSync(doc.index.path, 'utf8'));
    expect(index.exitCode).toBe(3);
    expect(index.engines[1]).toMatchObject({ name: 'gone', exitCode: 3, status: 'failed' });
    expect(index.engines[1].bundle).toBeUndefined();
    const verified = await runCli(['bundle', 'verify', doc.index.path]);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toContain('gone: no bundle (exit 3 in the run)');
  }, 150_000);

  it('acts on the engine of the current Docker context and says so, and DOCKER_HOST still wins over it', async () => {
    const config = tempDir('firebreak-dockercfg-');
    const cli = (...args: string[]) => execFileSync('docker', args, { env: { ...process.env, DOCKER_CONFIG: config } });
    cli('context', 'create', 'spare', '--docker', `host=${privateEngine().host}`);
    cli('context', 'create', 'gone', '--docker', `host=unix://${work}/gone.sock`);
    cli('context', 'use', 'spare');
    const { name } = await privateEngine().run({});
    const env = { DOCKER_CONFIG: config, DOCKER_HOST: undefined, DOCKER_CONTEXT: undefined };

    const viaContext = await runCli(['pause', name, '--dry-run'], { env });
    expect(viaContext.code, viaContext.stderr).toBe(0);
    expect(viaContext.stdout).toContain(
      `engine ${privateEngine().host}, chosen by context spare from currentContext, engine ID ${ids.spare}`,
    );

    const viaHost = await runCli(['pause', name, '--dry-run', '--json'], {
      env: { ...env, DOCKER_HOST: 'unix:///var/run/docker.sock' },
    });
    expect(viaHost.code).toBe(4); // The container is on the context's engine, not on DOCKER_HOST's.

    const dead = await runCli(['pause', name, '--dry-run'], { env: { ...env, DOCKER_CONTEXT: 'gone' } });
    expect(dead.code).toBe(3);
    expect(dead.stderr).toContain('(context gone from DOCKER_CONTEXT)');
  }, 150_000);
});
