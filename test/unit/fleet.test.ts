import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, describe, expect, it } from 'vitest';
import { fleetJson } from '../../src/cli/fleet.js';
import { ExitCode, UsageError } from '../../src/errors.js';
import { fleetEngines, fleetJsonSchema, readFleetFile } from '../../src/engine/fleet-file.js';
import { splitReferences, worstExitCode } from '../../src/engine/fleet.js';

const dir = mkdtempSync(join(tmpdir(), 'firebreak-fleetfile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (text: string) => {
  const path = join(dir, `${Math.random().toString(16).slice(2)}.yaml`);
  writeFileSync(path, text);
  return path;
};
const two = `engines:
  - name: eu
    context: prod-eu
    labels: { region: eu, tier: 1 }
  - name: us
    host: ssh://ops@us1
    labels: { region: us }
`;

describe('fleet files', () => {
  it('reads engines with a context or a host and labels, numbers read as text', () => {
    expect(readFleetFile(file(two))).toEqual([
      { name: 'eu', context: 'prod-eu', labels: { region: 'eu', tier: '1' } },
      { name: 'us', host: 'ssh://ops@us1', labels: { region: 'us' } },
    ]);
  });

  it('refuses an engine with both a context and a host, naming the place (exit 2)', () => {
    const path = file('engines:\n  - name: a\n    context: x\n    host: unix:///x.sock\n');
    expect(() => readFleetFile(path)).toThrow(UsageError);
    expect(() => readFleetFile(path)).toThrow(`--fleet ${path}: engines.0: give either context or host`);
  });

  it('refuses an unknown field, a bad name and a name given twice', () => {
    expect(() => readFleetFile(file('engines:\n  - name: a\n    context: x\n    tags: {}\n'))).toThrow(/engines\.0/);
    expect(() => readFleetFile(file('engines:\n  - name: "a b"\n    context: x\n'))).toThrow(/engines\.0\.name/);
    expect(() => readFleetFile(file('engines:\n  - {name: a, context: x}\n  - {name: a, context: y}\n'))).toThrow(
      /engine name a appears twice/,
    );
  });

  it('picks engines by every --select label, and says which labels exist when none matches', () => {
    const path = file(two);
    expect(fleetEngines({ fleet: path, select: ['region=us'] })!.map((e) => e.name)).toEqual(['us']);
    expect(fleetEngines({ fleet: path, select: ['region=eu', 'tier=1'] })!.map((e) => e.name)).toEqual(['eu']);
    expect(() => fleetEngines({ fleet: path, select: ['region=ap'] })).toThrow(
      '--select region=ap matches no engine of the fleet (labels there: region=eu, tier=1, region=us)',
    );
  });

  it('makes a fleet of repeated --context or --host, never of one, and refuses mixing them with --fleet', () => {
    expect(fleetEngines({ context: ['a'] })).toBeUndefined();
    expect(fleetEngines({ context: ['a', 'b'] })!.map((e) => [e.name, e.context])).toEqual([
      ['a', 'a'],
      ['b', 'b'],
    ]);
    expect(fleetEngines({ host: ['unix:///x.sock', '/x.sock'] })!.map((e) => e.name)).toEqual(['x.sock', 'x.sock-2']);
    expect(() => fleetEngines({ context: ['a'], host: ['unix:///x'] })).toThrow(/--context and --host/);
    expect(() => fleetEngines({ fleet: file(two), context: ['a'] })).toThrow(/--fleet names the engines itself/);
    expect(() => fleetEngines({ select: ['a=b'] })).toThrow(/give --fleet/);
  });

  it('prints a JSON Schema that describes the format', () => {
    const schema = fleetJsonSchema() as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties)).toEqual(['engines']);
    expect(new Ajv2020({ strict: false }).validate(schema, { engines: [{ name: 'a', context: 'b' }] })).toBe(true);
  });
});

describe('fleet runs', () => {
  const engines = readFleetFile(file(two));

  it('pins ENGINE/CONTAINER to its engine and looks for a bare name on every engine', () => {
    const { bare, pinned } = splitReferences(['web', 'us/db', 'us/cache'], engines);
    expect(bare).toEqual(['web']);
    expect([...pinned]).toEqual([['us', ['db', 'cache']]]);
    expect(() => splitReferences(['ap/web'], engines)).toThrow('no engine named "ap" in this run (engines: eu, us)');
  });

  it('exits with the worst code: an unreachable engine outranks a failed step, which outranks no target', () => {
    expect(worstExitCode([0, 1, 3, 4])).toBe(ExitCode.engineUnreachable);
    expect(worstExitCode([0, 4, 1])).toBe(ExitCode.stepFailed);
    expect(worstExitCode([0, 0])).toBe(ExitCode.ok);
  });

  it('gives one firebreak.fleet/v1 document that its JSON Schema accepts', () => {
    const schema = JSON.parse(readFileSync(new URL('../../schemas/fleet.v1.json', import.meta.url), 'utf8'));
    const doc = fleetJson({
      status: 'failed',
      exitCode: 3,
      incident: 'INC-1',
      playbook: 'isolate',
      index: { path: '/e/x.index.json', sha256: 'a'.repeat(64) },
      engines: [
        { engine: engines[0]!, status: 'failed', exitCode: 3, error: 'cannot reach the Docker engine' },
        { engine: engines[1]!, status: 'skipped', exitCode: 0, error: 'none of web is on this engine' },
      ],
    });
    const ajv = new Ajv2020({ strict: false });
    expect(ajv.validate(schema, doc), JSON.stringify(ajv.errors)).toBe(true);
  });
});
