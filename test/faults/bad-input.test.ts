// The bad-input corpus (test/corpus/cases.yaml): every case is run through the built CLI as a user
// would, and holds only when firebreak answers with the exit code from the table, one line that
// names the thing and the place, no stack trace, nothing on stdout, and nothing created anywhere.
// Each case is a trial of the fault class `bad-input`, so the run's summary carries the figures.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../engine/bundle-files.js';
import { REPO_ROOT, runCli, type CliResult } from '../engine/cli.js';
import {
  createNetwork,
  inspectContainer,
  startContainer,
  useHarness,
  type TestContainer,
  type TestNetwork,
} from '../engine/harness.js';
import { trial } from './ledger.js';

interface Case {
  file?: string;
  generate?: keyof typeof generators;
  'via-run'?: boolean;
  args?: string[];
  exit: 2 | 3;
  message: string;
  where?: string;
  line?: number;
  json?: boolean;
}

const corpusDir = join(REPO_ROOT, 'test', 'corpus');
const cases = parse(readFileSync(join(corpusDir, 'cases.yaml'), 'utf8')) as Case[];

/** An engine address nobody listens on: a playbook refused before any engine call never finds out. */
const noEngine = 'unix:///nonexistent/firebreak-corpus.sock';

const steps = (n: number, indent = '  ') => `${indent}- uses: evidence.inspect\n`.repeat(n);

/** Playbooks too large to keep in the repository, made once per run. */
const generators = {
  'deep-nesting': (dir: string) =>
    file(
      dir,
      'deep.yaml',
      `name: deep\nsteps:\n  - uses: note\n    with: { text: ${'['.repeat(20_000)}${']'.repeat(20_000)} }\n`,
    ),
  directory: (dir: string) => {
    mkdirSync(join(dir, 'a-folder.yaml'));
    return join(dir, 'a-folder.yaml');
  },
  missing: (dir: string) => join(dir, 'no-such-playbook.yaml'),
  'too-large': (dir: string) =>
    file(dir, 'large.yaml', `name: large\ndescription: "${'x'.repeat(1024 * 1024)}"\nsteps:\n${steps(1)}`),
  // The size that once grew Node to 4.3 GB: refused after reading the first MiB of it.
  'fifty-megabytes': (dir: string) => file(dir, 'fifty.yaml', `name: fifty\nsteps:\n${steps((50 * 1024 * 1024) / 27)}`),
  'steps-1001': (dir: string) => file(dir, 'steps-1001.yaml', `name: many\nsteps:\n${steps(1001)}`),
  'steps-1001-in-groups': (dir: string) =>
    file(
      dir,
      'groups.yaml',
      `name: groups\nsteps:\n${'  - uses: group\n    steps:\n'.concat(steps(100, '      ')).repeat(10)}`,
    ),
  'steps-1001-flow': (dir: string) =>
    file(dir, 'flow.yaml', `name: flow\nsteps: [${Array(1001).fill('{uses: evidence.inspect}').join(', ')}]\n`),
  // Ten groups that each alias one list of 102 steps: under the alias limit, over the step limit.
  'steps-1001-aliases': (dir: string) =>
    file(
      dir,
      'aliases.yaml',
      `name: aliases\nx: &s [${Array(102).fill('{uses: evidence.inspect}').join(', ')}]\nsteps:\n${'  - {uses: group, steps: *s}\n'.repeat(10)}`,
    ),
};

function file(dir: string, name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
}

/** Loopback servers that answer HTTP, but not as a Docker engine does. */
const httpModes = {
  'not-found': (_req: unknown, res: import('node:http').ServerResponse) =>
    res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found'),
  html: (_req: unknown, res: import('node:http').ServerResponse) =>
    res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>hello</body></html>'),
  json: (_req: unknown, res: import('node:http').ServerResponse) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"hello":"world"}'),
  reset: (req: import('node:http').IncomingMessage) => req.socket.destroy(),
  silent: () => {},
};

useHarness();

let playbooks: Record<string, string>;
const servers: Server[] = [];
const hosts: Record<string, string> = {};
let target: TestContainer;
let network: TestNetwork;

beforeAll(async () => {
  const dir = tempDir('firebreak-corpus-gen-');
  playbooks = Object.fromEntries(Object.entries(generators).map(([name, make]) => [name, make(dir)]));
  for (const [mode, handler] of Object.entries(httpModes)) {
    const server = createServer(handler as Parameters<typeof createServer>[1]);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    hosts[mode] = `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  network = await createNetwork();
  target = await startContainer({ networks: [{ name: network.name }] });
});

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

function playbookOf(c: Case): string | undefined {
  if (c.file) return join(corpusDir, 'playbooks', c.file);
  return c.generate ? playbooks[c.generate] : undefined;
}

function argsOf(c: Case, place: { file?: string; cwd: string }): string[] {
  const args =
    c.args ??
    (c['via-run']
      ? ['run', '{file}', 'ghost', '--host', noEngine, '--evidence-dir', '{evidence}']
      : ['playbooks', 'validate', '{file}']);
  const filled = args.map((arg) =>
    arg
      .replace('{file}', place.file ?? '')
      .replace('{target}', () => target.name)
      .replace('{evidence}', join(place.cwd, 'evidence'))
      .replace('{a-file}', join(place.cwd, 'a-file'))
      .replace(/\{http:([a-z-]+)\}/, (_, mode: string) => hosts[mode] ?? `no server ${mode}`),
  );
  return c.json ? [...filled, '--json'] : filled;
}

function title(c: Case): string {
  const what = c.args
    ? `firebreak ${c.args.join(' ')}`
    : `${c['via-run'] ? 'run' : 'playbooks validate'} ${c.file ?? `<${c.generate}>`}`;
  return `${what}${c.json ? ' --json' : ''} exits ${c.exit} with one line: ${c.message}`;
}

/** What the one line (or the JSON document's message) must say, whatever the case. */
function checkMessage(message: string, c: Case, file: string | undefined): void {
  expect(message).toContain(c.message);
  if (c.where) expect(message).toContain(c.where);
  if (file && !c.args) expect(message).toContain(c.line ? `${file}:${c.line}:` : file);
  // A stack, a Node-internal path or our own source file is not a message for a user.
  expect(message).not.toMatch(/\n\s+at |node:internal|\/dist\/|\/src\/|node_modules/);
  // C0 and C1 controls from the input are made visible, never sent to the terminal as they are.
  expect(message).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
}

function checkAnswer(result: CliResult, c: Case, file: string | undefined): void {
  expect(result.code, `stderr: ${result.stderr}\nstdout: ${result.stdout}`).toBe(c.exit);
  if (c.json) {
    expect(result.stderr).toBe('');
    const document = JSON.parse(result.stdout) as { status: string; exitCode: number; error: { message: string } };
    expect(document).toMatchObject({ schema: 'firebreak.error/v1', status: 'failed', exitCode: c.exit });
    checkMessage(document.error.message, c, file);
  } else {
    expect(result.stdout).toBe('');
    expect(result.stderr.endsWith('\n')).toBe(true);
    expect(result.stderr.slice(0, -1).split('\n')).toHaveLength(1);
    checkMessage(result.stderr.slice(0, -1), c, file);
  }
}

describe.concurrent('the bad-input corpus', () => {
  for (const c of cases) {
    it(
      title(c),
      () =>
        trial('bad-input', title(c), async () => {
          // Each case runs in a folder of its own holding one file (in the way, for the cases that
          // need one); afterwards it holds that file alone: no evidence folder, fallback bundle or lock.
          const cwd = tempDir('firebreak-corpus-');
          writeFileSync(join(cwd, 'a-file'), 'not a folder\n');
          try {
            const file = playbookOf(c);
            const result = await runCli(argsOf(c, { file, cwd }), {
              cwd,
              // Generous: a loaded CI machine starts a Node process slowly, and {http:silent} waits 15 s by design.
              timeoutMs: 100_000,
              env: {
                FIREBREAK_FALLBACK_DIR: join(cwd, 'fallback'),
                FIREBREAK_LOCK_DIR: join(cwd, 'locks'),
                FIREBREAK_EVIDENCE_DIR: undefined,
              },
            });
            checkAnswer(result, c, file);
            expect(readdirSync(cwd)).toEqual(['a-file']);
            expect(readFileSync(join(cwd, 'a-file'), 'utf8')).toBe('not a folder\n');
          } finally {
            rmSync(cwd, { recursive: true, force: true });
          }
        }),
      120_000,
    );
  }
});

describe('around the corpus', () => {
  it('holds at least 80 cases, each with an exit code of 2 or 3 and a message fragment', () => {
    expect(cases.length).toBeGreaterThanOrEqual(80);
    for (const c of cases) {
      expect([2, 3]).toContain(c.exit);
      expect(c.message.length).toBeGreaterThan(0);
      expect(Boolean(c.file || c.generate || c.args)).toBe(true);
    }
  });

  it('keeps every playbook of test/corpus/playbooks in a case', () => {
    const used = new Set(cases.map((c) => c.file).filter(Boolean));
    expect(readdirSync(join(corpusDir, 'playbooks')).filter((name) => !used.has(name))).toEqual([]);
  });

  it('leaves the container the refused runs named running, unpaused and on its network', async () => {
    const state = (await inspectContainer(target.name)).State;
    expect({ running: state.Running, paused: state.Paused }).toEqual({ running: true, paused: false });
    expect(Object.keys((await inspectContainer(target.name)).NetworkSettings.Networks)).toEqual([network.name]);
  });

  it('accepts exactly 1000 steps, groups counted, so the limit is where it says', async () => {
    const dir = tempDir('firebreak-corpus-limit-');
    const text = `name: limit\nsteps:\n${steps(990)}  - uses: group\n    steps:\n${steps(9, '      ')}`;
    const result = await runCli(['playbooks', 'validate', file(dir, 'limit.yaml', text)]);
    expect(result.stdout).toContain('valid playbook "limit" with 1000 steps');
    expect(result.code).toBe(0);
  });

  it('prints the stack of a refusal at --log-level debug, and only then', async () => {
    const bad = join(corpusDir, 'playbooks', 'unknown-step-type.yaml');
    const result = await runCli(['run', bad, 'ghost', '--host', noEngine, '--log-level', 'debug']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^firebreak: .*unknown step type "network\.explode".*\n.*UsageError/);
    expect(result.stderr).toMatch(/\n\s+at /);
  });
});
