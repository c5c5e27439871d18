// The data a drill is made of: the expect list of playbooks, the scenarios, the default scenario of
// each built-in playbook, and the timing figures. Pure: no engine here.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { builtInNames, loadPlaybook, parsePlaybook } from '../../src/engine/loader.js';
import { planDrill } from '../../src/engine/drill/plan.js';
import { loadAllScenarios, loadScenario, parseScenario } from '../../src/engine/drill/scenario.js';
import { spreadOf } from '../../src/engine/drill/timing.js';

const playbook = (...expect: string[]) =>
  [
    'name: demo',
    'params:',
    '  cpus: { type: string, default: "0.5" }',
    'steps:',
    '  - id: snap',
    '    uses: evidence.inspect',
    'expect:',
    ...expect,
    '',
  ].join('\n');

function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(2);
    return error as UsageError;
  }
  throw new Error('it loaded, but it should not have');
}

describe('the expect list of a playbook', () => {
  it('loads every kind of expectation, limits with templates among them', () => {
    const loaded = parsePlaybook(
      playbook(
        '  - isolated',
        '  - networks-restored',
        '  - stopped',
        '  - running',
        '  - paused',
        '  - healthy',
        '  - bundle-verifies',
        '  - limits: { cpus: "${{ params.cpus }}", memory: 64m, pids: 100 }',
        '  - image-tagged: quarantine/suspicious',
        '  - restart-policy: no',
      ),
      'pb.yaml',
    );
    expect(loaded.expect.map((e) => e.kind)).toEqual([
      'isolated',
      'networks-restored',
      'stopped',
      'running',
      'paused',
      'healthy',
      'bundle-verifies',
      'limits',
      'image-tagged',
      'restart-policy',
    ]);
  });

  it('refuses an unknown expectation with its YAML path and line, exit 2', () => {
    const error = usageError(() => parsePlaybook(playbook('  - running', '  - isolatd'), 'pb.yaml'));
    expect(error.message).toMatch(/^pb\.yaml:9:5: expect\[1\]: unknown expectation "isolatd"; known: isolated, /);
  });

  it('refuses a template naming an undeclared parameter inside limits', () => {
    const error = usageError(() => parsePlaybook(playbook('  - limits: { cpus: "${{ params.cpu }}" }'), 'pb.yaml'));
    expect(error.message).toMatch(
      /expect\[0\]\.limits\.cpus: template \$\{\{ params\.cpu \}\}: unknown parameter "cpu"/,
    );
  });

  it('refuses a literal limit that is not a number of CPUs', () => {
    const error = usageError(() => parsePlaybook(playbook('  - limits: { cpus: lots }'), 'pb.yaml'));
    expect(error.message).toMatch(/expect\[0\]\.limits\.cpus: "lots" is not a number of CPUs/);
  });

  it('refuses a restart policy Docker does not have', () => {
    const error = usageError(() => parsePlaybook(playbook('  - restart-policy: sometimes'), 'pb.yaml'));
    expect(error.message).toMatch(/expect\[0\]: restart-policy is one of no, always, unless-stopped, on-failure/);
  });

  it('lets every built-in playbook declare at least one expectation', () => {
    for (const name of builtInNames()) expect(loadPlaybook(name).expect.length, name).toBeGreaterThan(0);
    expect(loadPlaybook('quarantine').expect.map((e) => e.label)).toEqual([
      'stopped',
      'image-tagged: ${{ params.repository }}',
      'restart-policy: no',
      'bundle-verifies',
    ]);
  });
});

describe('scenarios', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fb-scenarios-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('load from scenarios/, the six the drills need among them', () => {
    const names = loadAllScenarios().map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['networked', 'unhealthy', 'crash-loop', 'busy', 'tampered', 'fat']));
    const networked = loadScenario('networked');
    expect(networked.networks.some((n) => n['fixed-address'])).toBe(true);
    expect(networked.networks.every((n) => n.aliases.length > 0)).toBe(true);
    expect(loadScenario('crash-loop').container.restart?.policy).toBe('on-failure');
    expect(loadScenario('unhealthy').container.healthcheck).toBeDefined();
  });

  it('give every built-in playbook a default scenario, with a prepare step where one is needed', () => {
    for (const name of builtInNames()) expect(planDrill(name, { params: {} }).scenario.name, name).toBeTruthy();
    expect(planDrill('restore-network', { params: {} }).prepare?.playbook.name).toBe('isolate');
    expect(planDrill('unpause', { params: {} }).prepare?.playbook.name).toBe('pause');
    expect(planDrill('throttle-revert', { params: {} }).prepare?.playbook.name).toBe('throttle');
  });

  it('keep the params of the scenario under those given on the command line', () => {
    expect(planDrill('throttle', { params: { cpus: '0.25' } }).params).toMatchObject({ cpus: '0.25', pids: '64' });
  });

  it('refuse a bad scenario with its file and YAML path, exit 2', () => {
    const error = usageError(() =>
      parseScenario(
        ['name: odd', 'description: x', 'container:', '  restart: { policy: sometimes }', ''].join('\n'),
        'odd.yaml',
      ),
    );
    expect(error.message).toMatch(/^odd\.yaml:4:22: container\.restart\.policy: /);
    const file = join(dir, 'typo.yaml');
    writeFileSync(file, 'name: typo\ndescription: x\nnetwork: []\n');
    expect(usageError(() => loadScenario(file)).message).toMatch(/typo\.yaml:3:\d+: network: unknown key "network"/);
  });

  it('name the scenarios there are when asked for one that is not', () => {
    expect(usageError(() => loadScenario('nope')).message).toMatch(/scenario "nope" is neither a built-in \(busy, /);
  });
});

describe('spreadOf', () => {
  it('gives min, median, p95 (nearest rank) and max', () => {
    expect(spreadOf([5, 1, 3])).toEqual({ runs: 3, min: 1, median: 3, p95: 5, max: 5 });
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(spreadOf(hundred)).toEqual({ runs: 100, min: 1, median: 51, p95: 95, max: 100 });
    expect(spreadOf([])).toBeUndefined();
  });
});
