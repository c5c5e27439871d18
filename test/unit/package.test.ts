// What `npm pack` ships is what a user installs (README, "Install"): the built code, the
// playbooks, the scenarios, the schemas and the oclif manifest; no tests, sources or benchmarks.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  version: string;
  scripts: Record<string, string>;
};

/** npm itself, never a shell; scripts are off because dist/ is built before the tests run. */
function npm(args: string[], cwd = root) {
  const result = spawnSync('npm', [...args, '--ignore-scripts'], { cwd, encoding: 'utf8', timeout: 60_000 });
  expect(result.status, result.stderr).toBe(0);
  return result.stdout;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  );
}

describe('the package npm pack makes', () => {
  // One pack for every test here: npm takes seconds to start.
  let dir: string;
  let packed: { filename: string; files: Array<{ path: string }> };
  beforeAll(async () => {
    expect(existsSync(join(root, 'dist', 'commands', 'isolate.js')), 'run `npm run build` first').toBe(true);
    dir = await mkdtemp(join(tmpdir(), 'firebreak-pack-'));
    [packed] = JSON.parse(npm(['pack', '--json', '--pack-destination', dir])) as [typeof packed];
    return () => rm(dir, { recursive: true, force: true });
  });

  it('holds dist, the playbooks, scenarios, schemas and the manifest, and no tests, sources or dev entry point', () => {
    const files = packed.files.map((f) => f.path);
    for (const path of ['bin/run.js', 'dist/commands/isolate.js', 'dist/commands/doctor.js', 'oclif.manifest.json'])
      expect(files).toContain(path);
    // Everything in these folders of the repository, so a new playbook or scenario cannot be left out.
    for (const folder of ['playbooks', 'scenarios', 'schemas']) {
      if (!existsSync(join(root, folder))) continue;
      for (const file of filesUnder(join(root, folder))) expect(files).toContain(relative(root, file));
    }
    expect(files.filter((f) => /^(test|src|bench|scripts|node_modules)\/|\.test\.|^bin\/dev\.js$/.test(f))).toEqual([]);
  });

  it('builds before packing, so a tarball never ships a stale or missing dist', () => {
    expect(pkg.scripts.prepack).toMatch(/\bnpm run build\b/);
  });

  it('runs from the unpacked tarball: --version, its playbooks and the doctor command from its manifest', () => {
    const untar = spawnSync('tar', ['-xzf', join(dir, packed.filename), '-C', dir]);
    expect(untar.status, String(untar.stderr)).toBe(0);
    const installed = join(dir, 'package');
    // The dependencies as `npm install` would put them there; the registry is not this test's subject.
    symlinkSync(join(root, 'node_modules'), join(installed, 'node_modules'));
    const run = (args: string[]) =>
      spawnSync(process.execPath, [join(installed, 'bin', 'run.js'), ...args], {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, NODE_ENV: undefined, FORCE_COLOR: undefined, NO_COLOR: '1' },
        timeout: 30_000,
      });
    const version = run(['--version']);
    expect(version.status, version.stderr).toBe(0);
    expect(version.stdout).toMatch(new RegExp(`^firebreak/${pkg.version.replace(/\./g, '\\.')} `));
    const list = run(['playbooks', 'list']);
    expect(list.stdout).toMatch(/^isolate +Cut the target off every network/m);
    const manifest = JSON.parse(readFileSync(join(installed, 'oclif.manifest.json'), 'utf8')) as {
      commands: Record<string, unknown>;
    };
    expect(Object.keys(manifest.commands)).toEqual(expect.arrayContaining(['doctor', 'isolate', 'version']));
  });
});
