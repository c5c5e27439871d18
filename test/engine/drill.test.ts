// firebreak drill against the real engine: every built-in playbook passes its own expectations on
// its default scenario, a broken expectation or playbook fails with expected against observed, and
// nothing labelled with a drill's id is left on the engine afterwards, Ctrl-C included.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtInNames, loadPlaybook } from '../../src/engine/loader.js';
import type { LoadedStep } from '../../src/engine/playbook.js';
import { tempDir } from './bundle-files.js';
import { REPO_ROOT, runCli, startCli } from './cli.js';
import { docker, FIXTURE_IMAGE } from './harness.js';

interface DrillDoc {
  schema: string;
  status: string;
  deviated: boolean;
  drills: Array<{
    playbook: string;
    status: string;
    expect: string[];
    runs: Array<{
      drillId: string;
      status: string;
      run?: { status: string };
      expectations: Array<{ expectation: string; status: string; expected: string; observed: string }>;
      timings: { timeToContainMs: number | null; totalMs: number };
      bundle?: { path: string };
    }>;
  }>;
}

let evidence: string;
let work: string;
beforeAll(() => {
  evidence = tempDir('fb-drill-ev-');
  work = tempDir('fb-drill-work-');
});
afterAll(() => {
  for (const dir of [evidence, work]) rmSync(dir, { recursive: true, force: true });
});

/** Whatever carries the drill's label, on the engine's own lists: containers, networks, images. */
async function leftBehind(drillId: string): Promise<string[]> {
  const filters = JSON.stringify({ label: [`firebreak.drill=${drillId}`] });
  const [containers, networks, images] = await Promise.all([
    docker().listContainers({ all: true, filters }),
    docker().listNetworks({ filters }),
    docker().listImages({ filters }),
  ]);
  return [
    ...containers.map((c) => `container ${c.Names[0]}`),
    ...networks.map((n) => `network ${n.Name}`),
    ...images.map((i) => `image ${i.Id}`),
  ];
}

// Safety net for a failing test: what a drill left must not stay on the shared engine.
const seen: string[] = [];
afterAll(async () => {
  for (const id of seen) {
    const filters = JSON.stringify({ label: [`firebreak.drill=${id}`] });
    for (const c of await docker().listContainers({ all: true, filters }))
      await docker().getContainer(c.Id).remove({ force: true });
    for (const n of await docker().listNetworks({ filters })) await docker().getNetwork(n.Id).remove();
  }
});

const idleScenario = () => {
  const file = join(work, 'idle.yaml');
  writeFileSync(
    file,
    [
      'name: idle',
      'description: A container that waits, on no network.',
      'container:',
      `  command: [sh, -c, "trap 'exit 0' TERM; while :; do sleep 1; done"]`,
      '',
    ].join('\n'),
  );
  return file;
};

describe('drill --all', () => {
  it('passes every built-in playbook on its default scenario, writes valid JSON and JUnit, and leaves nothing labelled', async () => {
    const junit = join(work, 'drill.xml');
    const result = await runCli(
      [
        'drill',
        '--all',
        '--concurrency',
        '4',
        '--image',
        FIXTURE_IMAGE,
        '--evidence-dir',
        evidence,
        '--junit',
        junit,
        '--json',
      ],
      { timeoutMs: 280_000 },
    );
    const doc = JSON.parse(result.stdout) as DrillDoc;
    for (const run of doc.drills.flatMap((d) => d.runs)) seen.push(run.drillId);
    const failed = doc.drills.filter((d) => d.status !== 'succeeded');
    expect(
      failed.map((d) => JSON.stringify(d.runs[0])),
      result.stderr,
    ).toEqual([]);
    expect(result.code).toBe(0);
    expect(doc.status).toBe('succeeded');
    expect(doc.deviated).toBe(false);
    expect(doc.drills.map((d) => d.playbook).sort()).toEqual(builtInNames());

    const schema = JSON.parse(readFileSync(join(REPO_ROOT, 'schemas/drill.v1.json'), 'utf8'));
    const validate = new Ajv2020({ strict: false }).compile(schema);
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);

    for (const drill of doc.drills) {
      const run = drill.runs[0]!;
      expect(run.expectations.map((e) => e.status)).toEqual(drill.expect.map(() => 'succeeded'));
      expect(run.bundle?.path).toMatch(/\.tar\.gz$/);
      // A playbook that changes state has a time to contain; forensics and crash-loop change nothing.
      const changes = loadPlaybook(drill.playbook).steps.some(changesState);
      expect(run.timings.timeToContainMs === null, drill.playbook).toBe(!changes);
      expect(await leftBehind(run.drillId), drill.playbook).toEqual([]);
    }

    const xml = readFileSync(junit, 'utf8');
    const parsed = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: '',
      isArray: (name) => ['testsuite', 'testcase'].includes(name),
    }).parse(xml, true);
    const suites = parsed.testsuites.testsuite as Array<{
      name: string;
      tests: string;
      failures: string;
      testcase: Array<{ name: string; time: string }>;
    }>;
    expect(suites.map((s) => s.name).sort()).toEqual(builtInNames());
    for (const suite of suites) {
      const drill = doc.drills.find((d) => d.playbook === suite.name)!;
      expect(suite.testcase.map((c) => c.name)).toEqual([
        'playbook ran',
        ...drill.runs[0]!.expectations.map((e) => e.expectation),
      ]);
      expect(suite.testcase).toHaveLength(1 + drill.expect.length);
      expect(Number(suite.tests)).toBe(suite.testcase.length);
      expect(suite.failures).toBe('0');
      for (const c of suite.testcase) expect(Number(c.time)).toBeGreaterThanOrEqual(0);
    }
    const cases = suites.reduce((n, s) => n + s.testcase.length, 0);
    expect(Number(parsed.testsuites.tests)).toBe(cases);
  }, 300_000);
});

describe('drill', () => {
  it('fails an expectation that does not hold, exit 1, saying expected against observed, and cleans up', async () => {
    const playbook = join(work, 'never-paused.yaml');
    writeFileSync(
      playbook,
      [
        'name: never-paused',
        'steps:',
        '  - uses: evidence.inspect',
        'expect:',
        '  - running',
        '  - paused',
        '  - limits: { cpus: 0.25 }',
        '',
      ].join('\n'),
    );
    const junit = join(work, 'failing.xml');
    const result = await runCli([
      'drill',
      playbook,
      '--scenario',
      idleScenario(),
      '--image',
      FIXTURE_IMAGE,
      '--evidence-dir',
      evidence,
      '--junit',
      junit,
    ]);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toContain('succeeded  running: status running');
    expect(result.stdout).toContain('failed     paused: expected status paused, observed status running');
    expect(result.stdout).toMatch(/failed {5}limits: \{cpus: 0\.25\}: expected cpus 0\.25, observed cpus unlimited/);
    expect(result.stdout).toMatch(/^drill failed: 1 failed/m);
    const drillId = /\(drill ([0-9a-f]{8})\)/.exec(result.stderr)![1]!;
    seen.push(drillId);
    expect(await leftBehind(drillId)).toEqual([]);
    const xml = readFileSync(junit, 'utf8');
    const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml, true);
    const cases = parsed.testsuites.testsuite.testcase as Array<{ name: string; failure?: { message: string } }>;
    expect(cases.map((c) => c.name)).toEqual(['playbook ran', 'running', 'paused', 'limits: {cpus: 0.25}']);
    expect(cases[2]!.failure?.message).toBe('expected status paused, observed status running');
    expect(parsed.testsuites.failures).toBe('2');
  });

  it('cleans up after a playbook that fails, and says which step failed', async () => {
    const playbook = join(work, 'fails.yaml');
    writeFileSync(
      playbook,
      ['name: fails', 'steps:', '  - id: check', '    uses: assert.stopped', 'expect:', '  - running', ''].join('\n'),
    );
    const result = await runCli([
      'drill',
      playbook,
      '--scenario',
      idleScenario(),
      '--image',
      FIXTURE_IMAGE,
      '--evidence-dir',
      evidence,
      '--json',
    ]);
    expect(result.code, result.stderr).toBe(1);
    const doc = JSON.parse(result.stdout) as DrillDoc;
    const run = doc.drills[0]!.runs[0]!;
    seen.push(run.drillId);
    expect(doc.status).toBe('failed');
    expect(doc.deviated).toBe(true);
    expect(run.run?.status).toBe('failed');
    expect(run.expectations).toMatchObject([{ expectation: 'running', status: 'succeeded' }]);
    expect(await leftBehind(run.drillId)).toEqual([]);
  });

  it('cleans up after Ctrl-C while the scenario is being readied, exit 130', async () => {
    const scenario = join(work, 'never-ready.yaml');
    writeFileSync(
      scenario,
      [
        'name: never-ready',
        'description: Waits for a file nobody writes.',
        'container:',
        `  command: [sh, -c, "trap 'exit 0' TERM; while :; do sleep 1; done"]`,
        'networks:',
        '  - name: only',
        'ready:',
        '  file: /never',
        '  timeout: 40s',
        '',
      ].join('\n'),
    );
    const child = startCli([
      'drill',
      'isolate',
      '--scenario',
      scenario,
      '--image',
      FIXTURE_IMAGE,
      '--evidence-dir',
      evidence,
    ]);
    await child.stderrMatches(/started; waiting until it is ready/);
    const out = await Promise.race([child.done, new Promise((r) => setTimeout(r, 100))]);
    expect(out, 'the drill ended before Ctrl-C').toBeUndefined();
    child.kill('SIGINT');
    const result = await child.done;
    const drillId = /\(drill ([0-9a-f]{8})\)/.exec(result.stderr)![1]!;
    seen.push(drillId);
    expect(result.code, result.stderr).toBe(130);
    expect(result.stdout).toMatch(/^drill aborted/m);
    expect(await leftBehind(drillId)).toEqual([]);
  });

  it('stops before creating anything when the image is not on the engine, naming the fix', async () => {
    const result = await runCli(['drill', 'isolate', '--image', 'firebreak-test/absent:0', '--evidence-dir', evidence]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /the drill image firebreak-test\/absent:0 is not on the Docker engine at .*drills never pull.*--image/,
    );
    expect(result.stderr).not.toMatch(/\(drill [0-9a-f]{8}\)/);
  });
});

/** Inside groups too: auto-recover restarts from within its retried group. */
function changesState(step: LoadedStep): boolean {
  return Boolean(step.type?.mutates) || (step.steps ?? []).some(changesState);
}
