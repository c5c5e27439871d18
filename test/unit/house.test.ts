// The house rules, checked by a machine rather than by memory (STYLE.md, "The house"):
//
// 1. No shell and no child process: src/ (and the dist/ built from it) never imports
//    child_process or a process-spawning library, and never calls spawn( or exec(. Every action is
//    an Engine API call; a shell would also be one more place where a container-controlled string
//    could become a command.
// 2. Imports only go down the floors:
//      commands, cli  ->  engine  ->  steps  ->  docker
//    - src/cli sits beside src/commands: it is what the commands share (base command, flags,
//      progress, rendering, prompts). Commands may import cli; cli never imports a command.
//    - evidence (the bundle) and report (the report renderers) are side rooms used by the floors
//      above: they import no command, cli, engine, step or docker module. report reads bundles, so
//      it may import evidence; evidence never imports report.
//    - The ground floor (errors, log, bytes, duration, secrets, version, controls) imports only itself.
//    - Skipping a floor on the way down is allowed (the engine opens the docker adapter itself).
// 3. Only src/docker imports dockerode (or its modem and ssh transport).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const src = join(root, 'src');
const dist = join(root, 'dist');

function filesUnder(dir: string, ext: RegExp): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path, ext) : ext.test(entry.name) ? [path] : [];
  });
}

// ---- 1. no child process ----------------------------------------------------------------------

const spawningModules = /^(node:)?child_process$|^execa$|^shelljs$|^cross-spawn$|^zx$|^node-pty$/;
// spawn( and exec( as calls of their own; a RegExp's .exec( is no process.
const spawningCall = /(?<![.\w$])(spawn|spawnSync|exec|execSync|execFile|execFileSync|fork)\s*\(/;

/** Each import of a spawning module and each spawning call in `text`, as "line N: ...". */
function spawnFindings(text: string): string[] {
  const found: string[] = [];
  for (const name of importsOf(text)) if (spawningModules.test(name)) found.push(`imports ${name}`);
  text.split('\n').forEach((line, index) => {
    const code = line.replace(/\/\/.*$/, '').replace(/^\s*\*.*$/, '');
    if (spawningCall.test(code) || /child_process/.test(code)) found.push(`line ${index + 1}: ${line.trim()}`);
  });
  return found;
}

/** Every module a file imports: static imports, re-exports, import() and require(). */
function importsOf(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((file) => file.fileName);
}

describe('no shell or child process', () => {
  it('finds an import of child_process, execa or shelljs and a spawn( or exec( call when there is one', () => {
    // The scanner itself must be able to fail, or the two tests below prove nothing.
    expect(spawnFindings(`import {spawn} from 'node:child_process'\nspawn('sh', ['-c', cmd])\n`)).toEqual([
      'imports node:child_process',
      "line 1: import {spawn} from 'node:child_process'",
      "line 2: spawn('sh', ['-c', cmd])",
    ]);
    expect(spawnFindings(`const cp = require('child_process')`)).toContain('imports child_process');
    expect(spawnFindings(`const {execa} = await import('execa')`)).toEqual(['imports execa']);
    expect(spawnFindings(`import shell from 'shelljs'\nshell.exec('ls')`)).toEqual(['imports shelljs']);
    expect(spawnFindings(`exec ('rm -rf /')`)).toHaveLength(1);
    expect(spawnFindings(`const m = /x/.exec(text) // spawn( in a comment\n * exec( in a doc comment`)).toEqual([]);
  });

  it('src/ imports no child_process, execa or shelljs, and calls no spawn( or exec(', () => {
    const findings = filesUnder(src, /\.ts$/).flatMap((file) =>
      spawnFindings(readFileSync(file, 'utf8')).map((finding) => `${relative(root, file)}: ${finding}`),
    );
    expect(findings).toEqual([]);
  });

  it('dist/, the code that ships, imports no child_process, execa or shelljs, and calls no spawn( or exec(', () => {
    expect(existsSync(dist), 'dist/ is missing: run `npm run build` first').toBe(true);
    const files = filesUnder(dist, /\.js$/);
    expect(files.length).toBeGreaterThan(20);
    const findings = files.flatMap((file) =>
      spawnFindings(readFileSync(file, 'utf8')).map((finding) => `${relative(root, file)}: ${finding}`),
    );
    expect(findings).toEqual([]);
  });
});

// ---- 2. floors --------------------------------------------------------------------------------

const ground = new Set(['errors', 'log', 'bytes', 'duration', 'secrets', 'version', 'controls']);
/** What each part of src/ may import besides itself and the ground floor. */
const mayImport: Record<string, string[]> = {
  commands: ['cli', 'engine', 'steps', 'docker', 'evidence', 'report'],
  cli: ['engine', 'steps', 'docker', 'evidence', 'report'],
  engine: ['steps', 'docker', 'evidence', 'report'],
  steps: ['docker', 'evidence', 'report'],
  docker: [],
  report: ['evidence'],
  evidence: [],
  ground: [],
};
const dockerPackages = /^(dockerode|docker-modem|ssh2)(\/|$)/;

/** The part of src/ a file belongs to: its first folder, or 'ground' for a file at the top. */
function partOf(file: string): string {
  const [first, second] = relative(src, file).split('/');
  if (second === undefined) {
    const name = first!.replace(/\.(ts|js)$/, '');
    if (!ground.has(name))
      throw new Error(`src/${first} is at the top of src/ but not on the ground floor: give it a floor in this test`);
    return 'ground';
  }
  if (!(first! in mayImport))
    throw new Error(`src/${first}/ has no floor yet: add it to mayImport in this test, with the rule it follows`);
  return first!;
}

/** Every import that crosses a floor the wrong way, or reaches dockerode from outside src/docker. */
function floorViolations(files: Array<{ path: string; text: string }>): string[] {
  const problems: string[] = [];
  for (const { path, text } of files) {
    const from = partOf(path);
    for (const name of importsOf(text)) {
      const where = relative(root, path);
      if (dockerPackages.test(name) && from !== 'docker')
        problems.push(`${where} imports ${name}: only src/docker talks to dockerode`);
      if (!name.startsWith('.')) continue;
      const to = partOf(resolve(dirname(path), name));
      if (to === from || to === 'ground') continue;
      if (!mayImport[from]!.includes(to)) problems.push(`${where} (${from}) imports ${name} (${to})`);
    }
    // Reported once: an import of dockerode already said so above.
    if (from !== 'docker' && !importsOf(text).some((name) => dockerPackages.test(name)))
      problems.push(...dockerodeByName(path, text));
  }
  return problems;
}

/**
 * dockerode reached by name in a way no import statement shows: `createRequire(...)('dockerode')`,
 * `require.resolve('docker-modem')`. Any quoted package name in code counts; comments do not.
 */
const dockerPackageLiteral = /(['"`])(dockerode|docker-modem|ssh2)(\/[^'"`]*)?\1/;
function dockerodeByName(path: string, text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
  const found = dockerPackageLiteral.exec(code);
  return found ? [`${relative(root, path)} names ${found[2]}: only src/docker talks to dockerode`] : [];
}

describe('the import graph of src/', () => {
  it('names a floor crossed the wrong way, and dockerode imported outside src/docker, when they happen', () => {
    const at = (path: string, text: string) => ({ path: join(src, path), text });
    expect(
      floorViolations([
        at('docker/containers.ts', `import {runPlaybook} from '../engine/run.js'`),
        at('steps/network.ts', `import type Docker from 'dockerode'`),
        at('evidence/bundle.ts', `import {renderMarkdown} from '../report/markdown.js'`),
        at('errors.ts', `const m = await import('./evidence/naming.js')`),
        at('engine/run.ts', `export {x} from '../commands/run.js'`),
        at('cli/base.ts', `import '../commands/isolate.js'`),
        at('engine/lean.ts', `// dockerode is loaded lazily\nconst D = createRequire(import.meta.url)('docker-modem')`),
        // These are fine: down a floor, a skipped floor, the ground floor, report reading evidence.
        at('commands/isolate.ts', `import {runPlaybook} from '../engine/run.js'\nimport {x} from '../cli/base.js'`),
        at('engine/run.ts', `import {openEngine} from '../docker/index.js'\nimport {mask} from '../secrets.js'`),
        at('report/bundle.ts', `import {readBundleEntries} from '../evidence/reader.js'`),
      ]),
    ).toEqual([
      'src/docker/containers.ts (docker) imports ../engine/run.js (engine)',
      'src/steps/network.ts imports dockerode: only src/docker talks to dockerode',
      'src/evidence/bundle.ts (evidence) imports ../report/markdown.js (report)',
      'src/errors.ts (ground) imports ./evidence/naming.js (evidence)',
      'src/engine/run.ts (engine) imports ../commands/run.js (commands)',
      'src/cli/base.ts (cli) imports ../commands/isolate.js (commands)',
      'src/engine/lean.ts names docker-modem: only src/docker talks to dockerode',
    ]);
  });

  it('keeps dockerode out of bin/, scripts/ and the built dist/ outside dist/docker too', () => {
    const outside = [
      ...filesUnder(join(root, 'bin'), /\.js$/),
      ...filesUnder(join(root, 'scripts'), /\.js$/),
      ...filesUnder(dist, /\.js$/).filter((file) => !file.startsWith(join(dist, 'docker') + '/')),
    ];
    expect(outside.length).toBeGreaterThan(20);
    const problems = outside.flatMap((file) => {
      const text = readFileSync(file, 'utf8');
      const imports = importsOf(text).filter((name) => dockerPackages.test(name));
      const named = imports.length ? [] : dockerodeByName(file, text);
      return [...imports.map((name) => `${relative(root, file)} imports ${name}`), ...named];
    });
    expect(problems).toEqual([]);
  });

  it('goes only down the floors, and only src/docker imports dockerode', () => {
    const files = filesUnder(src, /\.ts$/).map((path) => ({ path, text: readFileSync(path, 'utf8') }));
    expect(files.length).toBeGreaterThan(50);
    expect(floorViolations(files)).toEqual([]);
  });
});
