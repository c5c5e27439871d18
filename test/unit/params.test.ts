import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import type { LoadedPlaybook } from '../../src/engine/playbook.js';
import { paramFlagsOf, parseParamFlags, resolveParams } from '../../src/engine/params.js';
import { loadPlaybook, parsePlaybook } from '../../src/engine/loader.js';

function playbookWith(params: LoadedPlaybook['params']): LoadedPlaybook {
  return { name: 'demo', source: 'demo.yaml', builtIn: false, params, steps: [], onFailure: [], expect: [], text: '' };
}

const playbook = playbookWith({
  keep: { type: 'string-list', default: [] },
  grace: { type: 'duration', default: '10s' },
  count: { type: 'number' },
  force: { type: 'boolean', default: false },
  label: { type: 'string' },
});

describe('resolveParams', () => {
  it('fills in the defaults and leaves out what has neither a value nor a default', () => {
    expect(resolveParams(playbook, {})).toEqual({ keep: [], grace: '10s', force: false });
  });

  it('splits a string-list given as text on commas, trimming and dropping empty items', () => {
    expect(resolveParams(playbook, { keep: 'a,b' }).keep).toEqual(['a', 'b']);
    expect(resolveParams(playbook, { keep: ' a , ,b ,' }).keep).toEqual(['a', 'b']);
    expect(resolveParams(playbook, { keep: '' }).keep).toEqual([]);
  });

  it('takes a string-list given as a list, as strings', () => {
    expect(resolveParams(playbook, { keep: ['monitoring', 'backup'] }).keep).toEqual(['monitoring', 'backup']);
    expect(resolveParams(playbook, { keep: [1, 2] }).keep).toEqual(['1', '2']);
  });

  it('reads true, yes, 1, false, no and 0 as booleans, whatever the case', () => {
    for (const text of ['true', 'TRUE', 'yes', 'Yes', '1'])
      expect(resolveParams(playbook, { force: text }).force).toBe(true);
    for (const text of ['false', 'False', 'no', 'NO', '0'])
      expect(resolveParams(playbook, { force: text }).force).toBe(false);
    expect(resolveParams(playbook, { force: true }).force).toBe(true);
  });

  it('rejects a boolean that is neither true nor false', () => {
    expect(() => resolveParams(playbook, { force: 'maybe' })).toThrow(UsageError);
    expect(() => resolveParams(playbook, { force: 'maybe' })).toThrow('--param force: "maybe" is not true or false');
  });

  it('reads numbers from text and keeps numbers as they are', () => {
    expect(resolveParams(playbook, { count: '3' }).count).toBe(3);
    expect(resolveParams(playbook, { count: '2.5' }).count).toBe(2.5);
    expect(resolveParams(playbook, { count: 7 }).count).toBe(7);
  });

  it('rejects a number that is not a number', () => {
    expect(() => resolveParams(playbook, { count: 'three' })).toThrow(UsageError);
    expect(() => resolveParams(playbook, { count: 'three' })).toThrow('--param count: "three" is not a number');
    expect(() => resolveParams(playbook, { count: 'Infinity' })).toThrow('is not a number');
  });

  it('rejects an empty number rather than reading it as zero', () => {
    expect(() => resolveParams(playbook, { count: '' })).toThrow(UsageError);
    expect(() => resolveParams(playbook, { count: '  ' })).toThrow(UsageError);
  });

  it('keeps a duration as written once it is checked, and rejects a bad one', () => {
    expect(resolveParams(playbook, { grace: '30s' }).grace).toBe('30s');
    expect(resolveParams(playbook, { grace: 5 }).grace).toBe(5);
    expect(() => resolveParams(playbook, { grace: 'soon' })).toThrow(UsageError);
    expect(() => resolveParams(playbook, { grace: 'soon' })).toThrow(/^--param grace: "soon" is not a duration/);
  });

  it('turns a string param into text', () => {
    expect(resolveParams(playbook, { label: 42 }).label).toBe('42');
  });

  it('rejects a parameter the playbook does not declare, listing those it has', () => {
    expect(() => resolveParams(playbook, { nope: '1' })).toThrow(UsageError);
    expect(() => resolveParams(playbook, { nope: '1' })).toThrow(
      '--param nope: playbook demo has no parameter "nope"; it has keep, grace, count, force, label',
    );
    expect(() => resolveParams(playbookWith({}), { nope: '1' })).toThrow(
      /^--param nope: playbook demo has no parameter "nope"$/,
    );
  });

  it('rejects a missing required parameter, saying how to give it', () => {
    const strict = playbookWith({ image: { type: 'string', required: true } });
    expect(() => resolveParams(strict, {})).toThrow(UsageError);
    expect(() => resolveParams(strict, {})).toThrow('playbook demo needs --param image=<string>');
    expect(resolveParams(strict, { image: 'nginx' })).toEqual({ image: 'nginx' });
  });

  it('is satisfied by the default of a required parameter', () => {
    expect(resolveParams(playbookWith({ n: { type: 'number', required: true, default: 1 } }), {})).toEqual({ n: 1 });
  });
});

describe('resolveParams names a bad value where the operator gave it', () => {
  it('under the flag it came from, or --param NAME when none is named', () => {
    expect(() => resolveParams(playbook, { count: 'three' }, { count: '--count' })).toThrow(
      '--count: "three" is not a number',
    );
    expect(() => resolveParams(playbook, { grace: '600h' }, { grace: '--grace' })).toThrow(
      '--grace: "600h" is longer than a timer can wait: at most 596h (about 24.8 days)',
    );
    expect(() => resolveParams(playbook, { grace: '600h' })).toThrow(
      /^--param grace: "600h" is longer than a timer can wait/,
    );
  });
});

describe('resolveParams checks the step inputs that read the params, before anything runs', () => {
  const forensics = loadPlaybook('forensics');
  const sinceFlags = { since: '--since', until: '--until', tail: '--tail' };

  it("reports a value a step refuses under the flag it came from, not the step's place in the playbook", () => {
    expect(() => resolveParams(forensics, { since: 'yesterday' }, sinceFlags)).toThrow(UsageError);
    expect(() => resolveParams(forensics, { since: 'yesterday' }, sinceFlags)).toThrow(
      /^--since "yesterday": expected a duration like 2h, a time like 2026-12-01T10:00:00Z, or Unix seconds$/,
    );
    expect(() => resolveParams(forensics, { tail: 'lots' }, sinceFlags)).toThrow(
      /^--tail "lots": a number of lines, or all$/,
    );
  });

  it('names --param NAME for a value given with --param', () => {
    const given = parseParamFlags(['since=yesterday']);
    expect(() => resolveParams(forensics, given, paramFlagsOf(given))).toThrow(
      /^--param since "yesterday": expected a duration/,
    );
    expect(() => resolveParams(forensics, { since: 'yesterday' })).toThrow(/^--param since "yesterday": /);
  });

  it('refuses since later than until, naming both flags', () => {
    expect(() => resolveParams(forensics, { since: '1h', until: '2h' }, sinceFlags)).toThrow(
      /^--since "1h" is later than --until "2h"$/,
    );
    expect(() =>
      resolveParams(forensics, { since: '2026-12-02T00:00:00Z', until: '2026-12-01T00:00:00Z' }, sinceFlags),
    ).toThrow('--since "2026-12-02T00:00:00Z" is later than --until "2026-12-01T00:00:00Z"');
    expect(resolveParams(forensics, { since: '2h', until: '1h' }, sinceFlags)).toMatchObject({
      since: '2h',
      until: '1h',
    });
    expect(resolveParams(forensics, { since: '2026-12-01T00:00:00Z', until: '30m' }, sinceFlags)).toMatchObject({
      until: '30m',
    });
  });

  it('refuses a time the docker CLI would not read, even where Date.parse would', () => {
    for (const since of ['Tuesday 3', '1 2', 'yesterday', '2h ago', '-1h']) {
      expect(() => resolveParams(forensics, { since }, sinceFlags)).toThrow(
        `--since ${JSON.stringify(since)}: expected a duration like 2h`,
      );
    }
    for (const since of [
      '90s',
      '7d',
      '1.5h',
      '1767225600',
      '2026-12-01',
      '2026-12-01T10:00',
      '2026-12-01T10:00:00.5+01:00',
    ]) {
      expect(resolveParams(forensics, { since }, sinceFlags).since).toBe(since);
    }
  });

  it('names the playbook file and the default when the default is what a step refuses', () => {
    const text = [
      'name: x',
      'params:',
      '  since: { type: string, default: yesterday }',
      'steps:',
      '  - uses: evidence.logs',
      '    with: { since: "${{ params.since }}" }',
      '',
    ];
    const withDefault = parsePlaybook(text.join('\n'), 'mine.yaml');
    expect(() => resolveParams(withDefault, {})).toThrow(
      /^mine\.yaml: params\.since\.default "yesterday": expected a duration like 2h/,
    );
    expect(resolveParams(withDefault, { since: '2h' }).since).toBe('2h');
  });

  it('names a literal on the other side of a comparison by its place in the playbook', () => {
    const text = [
      'name: x',
      'params:',
      '  since: { type: string }',
      'steps:',
      '  - uses: evidence.logs',
      '    with: { since: "${{ params.since }}", until: 3h }',
      '',
    ];
    expect(() => resolveParams(parsePlaybook(text.join('\n'), 'mine.yaml'), { since: '1h' })).toThrow(
      /^--param since "1h" is later than steps\[0\]\.with\.until "3h"$/,
    );
  });

  it('says a parameter was not given when a step needs its value', () => {
    const text = [
      'name: x',
      'params:',
      '  text: { type: string }',
      'steps:',
      '  - uses: note',
      '    with: { text: "${{ params.text }}" }',
      '',
    ];
    expect(() => resolveParams(parsePlaybook(text.join('\n'), 'mine.yaml'), {})).toThrow(
      /^--param text \(not given\): /,
    );
  });

  it('checks steps inside groups and on-failure steps too', () => {
    const text = [
      'name: x',
      'params:',
      '  a: { type: string, default: 1h }',
      '  b: { type: string, default: 1h }',
      'steps:',
      '  - uses: group',
      '    steps:',
      '      - uses: evidence.logs',
      '        with: { since: "${{ params.a }}" }',
      'on-failure:',
      '  - uses: evidence.logs',
      '    with: { since: "${{ params.b }}" }',
      '',
    ];
    const nested = parsePlaybook(text.join('\n'), 'mine.yaml');
    expect(() => resolveParams(nested, { a: 'soon' })).toThrow(/^--param a "soon": /);
    expect(() => resolveParams(nested, { b: 'soon' })).toThrow(/^--param b "soon": /);
  });

  it('leaves a value that also reads the target or an earlier step to the plan, which knows them', () => {
    const text = [
      'name: x',
      'params:',
      '  n: { type: string }',
      'steps:',
      '  - id: snap',
      '    uses: evidence.inspect',
      '  - uses: evidence.logs',
      '    with: { since: "${{ params.n }}${{ target.name }}", until: "${{ steps.snap.outputs.image }}" }',
      '',
    ];
    expect(resolveParams(parsePlaybook(text.join('\n'), 'mine.yaml'), { n: 'x' })).toEqual({ n: 'x' });
  });
});

describe('paramFlagsOf', () => {
  it('names each value of --param NAME=VALUE as --param NAME', () => {
    expect(paramFlagsOf({ since: '1h', keep: ['a', 'b'] })).toEqual({ since: '--param since', keep: '--param keep' });
  });
});

describe('parseParamFlags', () => {
  it('turns NAME=VALUE flags into a record', () => {
    expect(parseParamFlags(['grace=10s', 'force=yes'])).toEqual({ grace: '10s', force: 'yes' });
    expect(parseParamFlags([])).toEqual({});
  });

  it('splits at the first = only, so values may hold =', () => {
    expect(parseParamFlags(['filter=label=app=web'])).toEqual({ filter: 'label=app=web' });
  });

  it('keeps an empty value', () => {
    expect(parseParamFlags(['keep='])).toEqual({ keep: '' });
  });

  it('collects a repeated name into a list', () => {
    expect(parseParamFlags(['keep=a', 'keep=b', 'keep=c'])).toEqual({ keep: ['a', 'b', 'c'] });
  });

  it('rejects a flag without a name or without =', () => {
    expect(() => parseParamFlags(['=x'])).toThrow(UsageError);
    expect(() => parseParamFlags(['grace'])).toThrow('--param "grace": expected NAME=VALUE');
  });

  it('gives values that resolveParams coerces to the declared types', () => {
    const given = parseParamFlags(['keep=a', 'keep=b', 'count=4', 'force=no']);
    expect(resolveParams(playbook, given)).toEqual({ keep: ['a', 'b'], grace: '10s', count: 4, force: false });
  });
});
