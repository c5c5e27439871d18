import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { builtInNames, loadPlaybook, parsePlaybook } from '../../src/engine/loader.js';
import { stepTypes } from '../../src/steps/registry.js';

/** YAML from lines, so that line and column numbers in the tests are easy to read off. */
const yaml = (...lines: string[]) => `${lines.join('\n')}\n`;

function loadError(text: string): UsageError {
  try {
    parsePlaybook(text, 'pb.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(2);
    return error as UsageError;
  }
  throw new Error('the playbook loaded, but it should not have');
}

describe('parsePlaybook with a valid playbook', () => {
  const text = yaml(
    'name: demo',
    'description: A demo.',
    'params:',
    '  keep: { type: string-list, default: [] }',
    'steps:',
    '  - uses: evidence.inspect',
    '  - uses: evidence.inspect',
    '    continue-on-error: true',
    '  - id: cut',
    '    name: Cut the networks',
    '    uses: network.disconnect',
    '    with: { keep: "${{ params.keep }}" }',
    '    timeout: 10s',
    '    retry: { attempts: 3 }',
    '  - uses: group',
    '    retry: { attempts: 2, delay: 500ms, backoff: exponential, max-delay: 2s }',
    '    steps:',
    '      - uses: note',
    '        with: { text: "${{ steps.inspect.outputs.image }} on ${{ target.name }}" }',
    '        timeout: 5',
    '      - uses: note',
    '        with: { text: "${{ steps.cut.outputs.disconnected }}" }',
    '        timeout: 250ms',
    'on-failure:',
    '  - uses: note',
    '    with: { text: "failed on ${{ target.name }}" }',
  );
  const playbook = parsePlaybook(text, 'demo.yaml');

  it('keeps the name, description, source, text and params', () => {
    expect(playbook.name).toBe('demo');
    expect(playbook.description).toBe('A demo.');
    expect(playbook.source).toBe('demo.yaml');
    expect(playbook.builtIn).toBe(false);
    expect(playbook.text).toBe(text);
    expect(playbook.params).toEqual({ keep: { type: 'string-list', default: [] } });
    expect(playbook.expect).toEqual([]);
  });

  it('names a step without an id after the last segment of its type, numbering repeats from 2', () => {
    expect(playbook.steps.map((s) => s.id)).toEqual(['inspect', 'inspect-2', 'cut', 'group']);
    expect(playbook.steps[3]!.steps!.map((s) => s.id)).toEqual(['note', 'note-2']);
    expect(playbook.onFailure.map((s) => s.id)).toEqual(['note-3']);
  });

  it('converts timeouts to milliseconds, a bare number being seconds', () => {
    expect(playbook.steps[2]!.timeoutMs).toBe(10_000);
    expect(playbook.steps[3]!.steps!.map((s) => s.timeoutMs)).toEqual([5000, 250]);
  });

  it('takes the default timeout from the step type, and ten minutes for a group', () => {
    expect(playbook.steps[0]!.timeoutMs).toBe(stepTypes.get('evidence.inspect')!.timeout);
    expect(playbook.steps[3]!.timeoutMs).toBe(600_000);
  });

  it('fills in the defaults of a retry policy', () => {
    expect(playbook.steps[0]!.retry).toBeUndefined();
    expect(playbook.steps[2]!.retry).toEqual({ attempts: 3, delay: '1s', backoff: 'fixed' });
    expect(playbook.steps[3]!.retry).toEqual({
      attempts: 2,
      delay: '500ms',
      backoff: 'exponential',
      'max-delay': '2s',
    });
  });

  it('attaches the step type, the inputs as written and the place in the file', () => {
    const cut = playbook.steps[2]!;
    expect(cut.type).toBe(stepTypes.get('network.disconnect'));
    expect(cut.name).toBe('Cut the networks');
    expect(cut.with).toEqual({ keep: '${{ params.keep }}' });
    expect(cut.yamlPath).toBe('steps[2]');
    expect(playbook.steps[0]!.with).toEqual({});
    expect(playbook.steps[3]!.type).toBeUndefined();
    expect(playbook.steps[3]!.steps![1]!.yamlPath).toBe('steps[3].steps[1]');
    expect(playbook.onFailure[0]!.yamlPath).toBe('on-failure[0]');
  });

  it('marks continue-on-error, false unless given', () => {
    expect(playbook.steps.map((s) => s.continueOnError)).toEqual([false, true, false, false]);
  });

  it('gives a playbook without params an empty set of them', () => {
    const bare = parsePlaybook(yaml('name: bare', 'steps:', '  - uses: evidence.inspect'), 'bare.yaml');
    expect(bare.params).toEqual({});
    expect(bare.onFailure).toEqual([]);
    expect(bare.description).toBeUndefined();
  });

  it('lets a step after a group read the outputs of a step inside it', () => {
    const loaded = parsePlaybook(
      yaml(
        'name: nested',
        'steps:',
        '  - uses: group',
        '    steps:',
        '      - id: snap',
        '        uses: evidence.inspect',
        '  - uses: note',
        '    with: { text: "${{ steps.snap.outputs.image }} ${{ steps.group.outputs.whatever }}" }',
      ),
      'nested.yaml',
    );
    expect(loaded.steps.map((s) => s.id)).toEqual(['group', 'note']);
  });
});

describe('parsePlaybook errors', () => {
  it('rejects invalid YAML with the file, line and column', () => {
    const error = loadError(yaml('name: x', 'steps:', '  - uses: note', '   with: [', ''));
    expect(error.message).toMatch(/^pb\.yaml:\d+:\d+: not valid YAML: /);
  });

  it('rejects a repeated key as invalid YAML', () => {
    const error = loadError(yaml('name: x', 'name: y', 'steps:', '  - uses: evidence.inspect'));
    expect(error.message).toContain('not valid YAML: Map keys must be unique');
  });

  it('rejects an unknown top-level key, naming it', () => {
    const error = loadError(yaml('name: x', 'bogus: 1', 'steps:', '  - uses: evidence.inspect'));
    expect(error.message).toMatch(/^pb\.yaml:\d+:\d+: /);
    expect(error.message).toContain('unknown key "bogus"; known: name, description, params, steps, on-failure, expect');
  });

  it('rejects a playbook without steps', () => {
    expect(loadError(yaml('name: x')).message).toMatch(/^pb\.yaml:\d+:\d+: steps: /);
    expect(loadError(yaml('name: x', 'steps: []')).message).toMatch(/^pb\.yaml:2:8: steps: Too small/);
  });

  it('rejects a name that is not an identifier', () => {
    expect(loadError(yaml('name: Not OK', 'steps:', '  - uses: evidence.inspect')).message).toContain(
      'pb.yaml:1:7: name: lower-case letters, digits, - and _, starting with a letter',
    );
  });

  it('rejects an unknown step type at steps[1].uses, listing the known ones', () => {
    const error = loadError(yaml('name: x', 'steps:', '  - uses: evidence.inspect', '  - uses: container.explode'));
    expect(error.message).toContain('pb.yaml:4:11: steps[1].uses: unknown step type "container.explode"; known: ');
    expect(error.message).toContain('network.disconnect');
    expect(error.message).toContain('group');
  });

  it('rejects a template that reads an unknown parameter', () => {
    const error = loadError(
      yaml('name: x', 'steps:', '  - uses: network.disconnect', '    with: { keep: "${{ params.nope }}" }'),
    );
    expect(error.message).toContain(
      'pb.yaml:4:19: steps[0].with.keep: template ${{ params.nope }}: unknown parameter "nope"',
    );
  });

  it('rejects a template with an unknown root name', () => {
    const error = loadError(yaml('name: x', 'steps:', '  - uses: note', '    with: { text: "${{ env.HOME }}" }'));
    expect(error.message).toContain('steps[0].with.text: template ${{ env.HOME }}: unknown name "env"');
  });

  it('rejects a step that reads the outputs of a later step', () => {
    const error = loadError(
      yaml(
        'name: x',
        'steps:',
        '  - uses: note',
        '    with: { text: "${{ steps.snap.outputs.image }}" }',
        '  - id: snap',
        '    uses: evidence.inspect',
      ),
    );
    expect(error.message).toContain(
      'pb.yaml:4:19: steps[0].with.text: template ${{ steps.snap.outputs.image }}: unknown step "snap"',
    );
  });

  it('rejects a step that reads its own outputs', () => {
    const error = loadError(
      yaml('name: x', 'steps:', '  - id: me', '    uses: note', '    with: { text: "${{ steps.me.outputs.x }}" }'),
    );
    expect(error.message).toContain('steps[0].with.text: template ${{ steps.me.outputs.x }}: unknown step "me"');
  });

  it('rejects an output the earlier step type does not declare', () => {
    const error = loadError(
      yaml(
        'name: x',
        'steps:',
        '  - id: snap',
        '    uses: evidence.inspect',
        '  - uses: note',
        '    with: { text: "${{ steps.snap.outputs.nope }}" }',
      ),
    );
    expect(error.message).toContain(
      'steps[1].with.text: template ${{ steps.snap.outputs.nope }}: step "snap" has no output "nope"',
    );
  });

  it('rejects a step id used twice, pointing at the second one', () => {
    const error = loadError(
      yaml('name: x', 'steps:', '  - id: a', '    uses: evidence.inspect', '  - id: a', '    uses: evidence.networks'),
    );
    expect(error.message).toContain('pb.yaml:5:9: steps[1].id: step id "a" is used twice');
  });

  it('rejects an explicit id that a step without an id already took', () => {
    const error = loadError(
      yaml(
        'name: x',
        'steps:',
        '  - uses: evidence.inspect',
        '  - id: inspect',
        '    uses: note',
        '    with: { text: hi }',
      ),
    );
    expect(error.message).toContain('steps[1].id: step id "inspect" is used twice');
  });

  it('rejects an id used twice across a group and the top level', () => {
    const error = loadError(
      yaml(
        'name: x',
        'steps:',
        '  - uses: group',
        '    steps:',
        '      - id: a',
        '        uses: evidence.inspect',
        '  - id: a',
        '    uses: evidence.networks',
      ),
    );
    expect(error.message).toContain('steps[1].id: step id "a" is used twice');
  });

  it('rejects a group without steps', () => {
    expect(loadError(yaml('name: x', 'steps:', '  - uses: group')).message).toContain(
      'pb.yaml:3:5: steps[0]: a group needs steps',
    );
    expect(loadError(yaml('name: x', 'steps:', '  - uses: group', '    steps: []')).message).toContain(
      'steps[0].steps: Too small',
    );
  });

  it('rejects a group with inputs', () => {
    const error = loadError(
      yaml(
        'name: x',
        'steps:',
        '  - uses: group',
        '    with: { a: 1 }',
        '    steps:',
        '      - uses: evidence.inspect',
      ),
    );
    expect(error.message).toContain('steps[0].with: a group takes no inputs (with)');
  });

  it('rejects steps under a step that is not a group', () => {
    const error = loadError(
      yaml('name: x', 'steps:', '  - uses: evidence.inspect', '    steps:', '      - uses: evidence.networks'),
    );
    expect(error.message).toContain('pb.yaml:5:7: steps[0].steps: only a group has steps; evidence.inspect does not');
  });

  it('rejects an input key the step type does not take', () => {
    const error = loadError(yaml('name: x', 'steps:', '  - uses: network.disconnect', '    with: { bogus: 1 }'));
    expect(error.message).toMatch(/^pb\.yaml:4:\d+: steps\[0\]\.with\.bogus: /);
    expect(error.message).toContain('bogus');
  });

  it('rejects a missing required input', () => {
    expect(loadError(yaml('name: x', 'steps:', '  - uses: note')).message).toContain('steps[0].with.text: ');
  });

  it('rejects an input of the wrong type, but not one a template fills in at run time', () => {
    expect(loadError(yaml('name: x', 'steps:', '  - uses: note', '    with: { text: 5 }')).message).toContain(
      'pb.yaml:4:19: steps[0].with.text: ',
    );
    const templated = yaml(
      'name: x',
      'params:',
      '  n: { type: number, default: 5 }',
      'steps:',
      '  - uses: note',
      '    with: { text: "${{ params.n }}" }',
    );
    expect(parsePlaybook(templated, 'pb.yaml').steps[0]!.with).toEqual({ text: '${{ params.n }}' });
  });

  it('rejects a bad duration', () => {
    const error = loadError(yaml('name: x', 'steps:', '  - uses: evidence.inspect', '    timeout: 10 seconds'));
    expect(error.message).toContain('pb.yaml:4:14: steps[0].timeout: ');
    expect(loadError(yaml('name: x', 'steps:', '  - uses: evidence.inspect', '    timeout: -1')).message).toContain(
      'steps[0].timeout: ',
    );
  });

  it('rejects a bad retry policy', () => {
    const zero = loadError(yaml('name: x', 'steps:', '  - uses: evidence.inspect', '    retry: { attempts: 0 }'));
    expect(zero.message).toContain('steps[0].retry.attempts: ');
    const backoff = loadError(
      yaml('name: x', 'steps:', '  - uses: evidence.inspect', '    retry: { attempts: 2, backoff: linear }'),
    );
    expect(backoff.message).toContain('steps[0].retry.backoff: ');
    const delay = loadError(
      yaml('name: x', 'steps:', '  - uses: evidence.inspect', '    retry: { attempts: 2, delay: soon }'),
    );
    expect(delay.message).toContain('steps[0].retry.delay: ');
  });

  it('rejects a param default of the wrong type', () => {
    const error = loadError(
      yaml('name: x', 'params:', '  n: { type: number, default: "ten" }', 'steps:', '  - uses: evidence.inspect'),
    );
    expect(error.message).toContain('pb.yaml:3:31: params.n.default: the default is not a number');
    const list = loadError(
      yaml(
        'name: x',
        'params:',
        '  keep: { type: string-list, default: [1, 2] }',
        'steps:',
        '  - uses: evidence.inspect',
      ),
    );
    expect(list.message).toContain('params.keep.default: the default is not a string-list');
    const flag = loadError(
      yaml('name: x', 'params:', '  on: { type: boolean, default: "yes" }', 'steps:', '  - uses: evidence.inspect'),
    );
    expect(flag.message).toContain('params.on.default: the default is not a boolean');
  });

  it('rejects an unknown param type', () => {
    const error = loadError(
      yaml('name: x', 'params:', '  n: { type: integer }', 'steps:', '  - uses: evidence.inspect'),
    );
    expect(error.message).toContain('pb.yaml:3:14: params.n.type: ');
  });

  it('checks the on-failure steps as well', () => {
    const error = loadError(
      yaml('name: x', 'steps:', '  - uses: evidence.inspect', 'on-failure:', '  - uses: alert.nowhere'),
    );
    expect(error.message).toContain('pb.yaml:5:11: on-failure[0].uses: unknown step type "alert.nowhere"');
  });
});

describe('parsePlaybook refuses a playbook of more than 1000 steps before building it', () => {
  const inspect = (n: number, indent = '  ') => Array<string>(n).fill(`${indent}- uses: evidence.inspect`);
  const limit = 'a playbook has at most 1000 steps, counting those in groups and on-failure: split it';

  it('counts block-style steps before parsing, naming the line of step 1001', () => {
    expect(loadError(yaml('name: many', 'steps:', ...inspect(1001))).message).toBe(`pb.yaml:1003: step 1001: ${limit}`);
  });

  it('counts steps in groups and on-failure, and accepts exactly 1000', () => {
    const grouped = ['  - uses: group', '    steps:', ...inspect(98, '      ')];
    expect(
      parsePlaybook(yaml('name: many', 'steps:', ...inspect(900), ...grouped, 'on-failure:', ...inspect(1)), 'pb.yaml')
        .steps,
    ).toHaveLength(901);
    expect(
      loadError(yaml('name: many', 'steps:', ...inspect(900), ...grouped, 'on-failure:', ...inspect(2))).message,
    ).toContain('step 1001');
  });

  it('counts flow-style steps and aliased groups after parsing, with the YAML path', () => {
    const flow = `steps: [${Array(1001).fill('{uses: evidence.inspect}').join(', ')}]`;
    expect(loadError(yaml('name: flow', flow)).message).toMatch(/^pb\.yaml:2:\d+: steps\[1000\]: step 1001: /);
    const aliased = [
      `x: &s [${Array(102).fill('{uses: evidence.inspect}').join(', ')}]`,
      'steps:',
      ...Array<string>(10).fill('  - {uses: group, steps: *s}'),
    ];
    expect(loadError(yaml('name: aliased', ...aliased)).message).toMatch(
      /^pb\.yaml:13:\d+: steps\[9\]\.steps\[\d+\]: step 1001: /,
    );
  });
});

describe('parsePlaybook refuses YAML that cannot be read as a playbook, in one line', () => {
  const oneLine = (error: UsageError) => {
    expect(error.message).not.toContain('\n');
    return error.message;
  };

  it('rejects an alias bomb (billion laughs) without expanding it', () => {
    const lines = ['name: bomb', 'a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (const [name, prev] of [
      ['b', 'a'],
      ['c', 'b'],
      ['d', 'c'],
      ['e', 'd'],
      ['f', 'e'],
      ['g', 'f'],
      ['h', 'g'],
    ]) {
      lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    }
    const message = oneLine(loadError(yaml(...lines, 'steps:', '  - uses: evidence.inspect')));
    expect(message).toBe(
      'pb.yaml: not a usable playbook: its YAML aliases copy values more than 100 times (an alias bomb?); write the values out',
    );
  });

  it('still loads a playbook that shares an anchor among a few steps', () => {
    const loaded = parsePlaybook(
      yaml(
        'name: x',
        'steps:',
        '  - uses: evidence.inspect',
        '    retry: &r { attempts: 3 }',
        '  - uses: evidence.top',
        '    retry: *r',
        '  - uses: evidence.stats',
        '    retry: *r',
      ),
      'pb.yaml',
    );
    expect(loaded.steps.map((s) => s.retry?.attempts)).toEqual([3, 3, 3]);
  });

  it('rejects an alias without an anchor, at its line and column', () => {
    const message = oneLine(loadError(yaml('name: x', 'steps:', '  - uses: note', '    with: { text: *nope }')));
    expect(message).toBe('pb.yaml:4:19: not valid YAML: alias *nope has no anchor &nope before it');
  });

  it('rejects an alias that comes before its anchor', () => {
    const message = oneLine(
      loadError(yaml('name: x', 'description: *later', 'x: &later y', 'steps:', '  - uses: evidence.inspect')),
    );
    expect(message).toBe('pb.yaml:2:14: not valid YAML: alias *later has no anchor &later before it');
  });

  it('rejects an alias inside its own anchor, a value that would contain itself', () => {
    const message = oneLine(loadError(yaml('name: x', 'r: &r { a: [1, *r] }', 'steps:', '  - uses: evidence.inspect')));
    expect(message).toBe('pb.yaml:2:16: not valid YAML: alias *r is inside its own anchor &r');
  });

  it('rejects an empty file, and one with only comments or a null', () => {
    for (const text of ['', '# nothing here\n', '~\n']) {
      expect(oneLine(loadError(text))).toBe('pb.yaml: empty: a playbook is a YAML mapping with name: and steps:');
    }
  });

  it('rejects a file whose top is a list, text or a number, naming what it found', () => {
    expect(oneLine(loadError(yaml('- a', '- b')))).toBe(
      'pb.yaml:1:1: a playbook is a YAML mapping with name: and steps:, not a list',
    );
    expect(loadError(yaml('hello')).message).toBe(
      'pb.yaml:1:1: a playbook is a YAML mapping with name: and steps:, not the text "hello"',
    );
    expect(loadError(yaml('42')).message).toBe(
      'pb.yaml:1:1: a playbook is a YAML mapping with name: and steps:, not the number 42',
    );
  });
});

describe('parsePlaybook refuses durations that would fire at once or never wait', () => {
  const withStep = (...lines: string[]) => yaml('name: x', 'steps:', '  - uses: evidence.inspect', ...lines);

  it('rejects a timeout past what setTimeout can hold, naming the maximum', () => {
    expect(loadError(withStep('    timeout: 600h')).message).toBe(
      'pb.yaml:4:14: steps[0].timeout: "600h" is longer than a timer can wait: at most 596h (about 24.8 days)',
    );
    expect(loadError(withStep('    timeout: 3000000')).message).toContain(
      'steps[0].timeout: 3000000 is longer than a timer can wait',
    );
    expect(parsePlaybook(withStep('    timeout: 596h'), 'pb.yaml').steps[0]!.timeoutMs).toBe(596 * 3_600_000);
  });

  it('rejects a timeout of zero, however written, and a negative one', () => {
    for (const timeout of ['0s', '0ms', '0', '0.0001s']) {
      expect(loadError(withStep(`    timeout: ${timeout}`)).message).toBe(
        'pb.yaml:4:14: steps[0].timeout: a timeout must be longer than 0 (at least 1ms)',
      );
    }
    expect(loadError(withStep('    timeout: -5s')).message).toContain('pb.yaml:4:14: steps[0].timeout: ');
    expect(parsePlaybook(withStep('    timeout: 1ms'), 'pb.yaml').steps[0]!.timeoutMs).toBe(1);
  });

  it('rejects a retry delay or max-delay past what a timer can hold', () => {
    expect(loadError(withStep('    retry: { attempts: 2, delay: 600h }')).message).toBe(
      'pb.yaml:4:34: steps[0].retry.delay: "600h" is longer than a timer can wait: at most 596h (about 24.8 days)',
    );
    expect(loadError(withStep('    retry: { attempts: 2, max-delay: 1000h }')).message).toContain(
      'steps[0].retry.max-delay: "1000h" is longer',
    );
  });

  it('rejects exponential backoff that would outgrow a timer before the last attempt, asking for max-delay', () => {
    expect(loadError(withStep('    retry: { attempts: 40, backoff: exponential }')).message).toBe(
      'pb.yaml:4:12: steps[0].retry: exponential backoff from 1s would wait longer than a timer can before attempt 40, ' +
        'at most 596h (about 24.8 days): set max-delay',
    );
    const capped = parsePlaybook(
      withStep('    retry: { attempts: 40, backoff: exponential, max-delay: 1m }'),
      'pb.yaml',
    );
    expect(capped.steps[0]!.retry!.attempts).toBe(40);
    expect(
      parsePlaybook(withStep('    retry: { attempts: 20, backoff: exponential }'), 'pb.yaml').steps[0]!.retry!.attempts,
    ).toBe(20);
  });

  it('rejects a max-delay shorter than the delay it caps', () => {
    expect(loadError(withStep('    retry: { attempts: 3, delay: 5s, max-delay: 1s }')).message).toBe(
      'pb.yaml:4:12: steps[0].retry: max-delay 1s is shorter than delay 5s',
    );
  });

  it('rejects no attempts and more than a hundred, and accepts a retry at once (delay 0s)', () => {
    expect(loadError(withStep('    retry: { attempts: 0 }')).message).toContain('steps[0].retry.attempts: ');
    expect(loadError(withStep('    retry: { attempts: 101 }')).message).toContain('steps[0].retry.attempts: ');
    expect(loadError(withStep('    retry: { attempts: 1000000000000 }')).message).toContain(
      'steps[0].retry.attempts: ',
    );
    expect(parsePlaybook(withStep('    retry: { attempts: 3, delay: 0s }'), 'pb.yaml').steps[0]!.retry!.delay).toBe(
      '0s',
    );
  });

  it('rejects a duration param whose default is not a duration, or too long for a timer', () => {
    const params = (line: string) => yaml('name: x', 'params:', line, 'steps:', '  - uses: evidence.inspect');
    expect(loadError(params('  grace: { type: duration, default: soon }')).message).toBe(
      'pb.yaml:3:37: params.grace.default: "soon" is not a duration; write e.g. 500ms, 10s, 2m',
    );
    expect(loadError(params('  grace: { type: duration, default: 600h }')).message).toContain(
      'params.grace.default: "600h" is longer than a timer can wait',
    );
    expect(loadError(params('  grace: { type: duration, default: -1 }')).message).toContain(
      'params.grace.default: -1 is not a duration',
    );
    expect(parsePlaybook(params('  grace: { type: duration, default: 30s }'), 'pb.yaml').params.grace!.default).toBe(
      '30s',
    );
  });
});

describe('parsePlaybook checks the log window of evidence.logs', () => {
  const logs = (inputs: string) => yaml('name: x', 'steps:', '  - uses: evidence.logs', `    with: ${inputs}`);

  it('rejects since later than until, naming both values', () => {
    expect(loadError(logs('{ since: 1h, until: 2h }')).message).toBe(
      'pb.yaml:4:20: steps[0].with.since: since "1h" is later than until "2h"',
    );
    expect(parsePlaybook(logs('{ since: 2h, until: 1h }'), 'pb.yaml').steps[0]!.with).toEqual({
      since: '2h',
      until: '1h',
    });
  });

  it('rejects a time the docker CLI would not read', () => {
    expect(loadError(logs('{ since: yesterday }')).message).toBe(
      'pb.yaml:4:20: steps[0].with.since: expected a duration like 2h, a time like 2026-12-01T10:00:00Z, or Unix seconds',
    );
  });

  it('leaves a since or until that a parameter fills in to the moment the parameters are known', () => {
    const text = yaml(
      'name: x',
      'params:',
      '  s: { type: string }',
      'steps:',
      '  - uses: evidence.logs',
      '    with: { since: "${{ params.s }}", until: 2h }',
    );
    expect(parsePlaybook(text, 'pb.yaml').steps[0]!.with).toEqual({ since: '${{ params.s }}', until: '2h' });
  });
});

describe('parsePlaybook refuses a ${{ left open', () => {
  it('in a step input, with the line and YAML path', () => {
    const error = loadError(yaml('name: x', 'steps:', '  - uses: note', '    with: { text: "hi ${{ target.name" }'));
    expect(error.message).toBe('pb.yaml:4:19: steps[0].with.text: "${{ target.name": a ${{ without its closing }}');
  });

  it('deep in a list of inputs, and closed by a single brace', () => {
    const error = loadError(
      yaml('name: x', 'steps:', '  - uses: network.disconnect', '    with:', '      keep: [a, "${{ target.name }"]'),
    );
    expect(error.message).toBe(
      'pb.yaml:5:17: steps[0].with.keep[1]: "${{ target.name }": a ${{ without its closing }}',
    );
  });

  it('in any other string of the file too', () => {
    expect(
      loadError(yaml('name: x', 'description: "see ${{ params"', 'steps:', '  - uses: evidence.inspect')).message,
    ).toBe('pb.yaml:2:14: description: "${{ params": a ${{ without its closing }}');
    expect(
      loadError(
        yaml(
          'name: x',
          'steps:',
          '  - uses: note',
          '    with: { text: hi }',
          'on-failure:',
          '  - uses: note',
          '    with: { text: "${{" }',
        ),
      ).message,
    ).toContain('pb.yaml:7:19: on-failure[0].with.text: ');
  });
});

describe('loadPlaybook', () => {
  const dir = mkdtempSync(join(tmpdir(), 'firebreak-loader-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds the built-in playbooks, isolate among them', () => {
    expect(builtInNames()).toContain('isolate');
    expect(builtInNames()).toEqual([...builtInNames()].sort());
  });

  it.each(builtInNames())('loads the built-in playbook %s', (name) => {
    const playbook = loadPlaybook(name);
    expect(playbook.name).toBe(name);
    expect(playbook.builtIn).toBe(true);
    expect(playbook.source).toBe(`playbooks/${name}.yaml`);
    expect(playbook.steps.length).toBeGreaterThan(0);
  });

  it('loads a playbook from a file path', () => {
    const file = join(dir, 'mine.yaml');
    writeFileSync(file, yaml('name: mine', 'steps:', '  - uses: evidence.inspect'));
    const playbook = loadPlaybook(file);
    expect(playbook.name).toBe('mine');
    expect(playbook.builtIn).toBe(false);
    expect(playbook.source).toBe(file);
  });

  it('names the file in the messages of a playbook file with a problem', () => {
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, yaml('name: broken', 'steps:', '  - uses: nope.nope'));
    expect(() => loadPlaybook(file)).toThrow(`${file}:3:11: steps[0].uses: unknown step type "nope.nope"`);
  });

  const loadFails = (file: string): string => {
    try {
      loadPlaybook(file);
    } catch (error) {
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).message).not.toContain('\n');
      return (error as UsageError).message;
    }
    throw new Error(`${file} loaded, but it should not have`);
  };

  it('rejects a directory, naming it', () => {
    const folder = join(dir, 'folder.yaml');
    mkdirSync(folder);
    expect(loadFails(folder)).toBe(`${folder}: is a directory, not a playbook file`);
  });

  it('rejects a binary file and a file that is not UTF-8 text', () => {
    const binary = join(dir, 'binary.yaml');
    writeFileSync(binary, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00]));
    expect(loadFails(binary)).toBe(`${binary}: binary data (a NUL byte at offset 7): not a playbook`);
    const latin1 = join(dir, 'latin1.yaml');
    writeFileSync(latin1, Buffer.from('name: caf\xe9\nsteps:\n  - uses: evidence.inspect\n', 'latin1'));
    expect(loadFails(latin1)).toBe(`${latin1}: not UTF-8 text: not a playbook`);
  });

  it('rejects a file over 1 MiB without reading past it, and a device that never ends', () => {
    const big = join(dir, 'big.yaml');
    writeFileSync(big, `name: big\ndescription: "${'x'.repeat(1024 * 1024)}"\nsteps:\n  - uses: evidence.inspect\n`);
    expect(loadFails(big)).toBe(`${big}: larger than 1 MiB: not a playbook`);
    expect(loadFails('/dev/zero')).toBe('/dev/zero: larger than 1 MiB: not a playbook');
  });

  it('reads a playbook with a byte-order mark', () => {
    const bom = join(dir, 'bom.yaml');
    writeFileSync(bom, `\ufeff${yaml('name: bom', 'steps:', '  - uses: evidence.inspect')}`);
    expect(loadPlaybook(bom).name).toBe('bom');
  });

  it('rejects a reference that is neither a built-in nor a file, listing the built-ins', () => {
    expect(() => loadPlaybook('no-such-playbook')).toThrow(UsageError);
    expect(() => loadPlaybook('no-such-playbook')).toThrow(/neither a built-in \(.*isolate.*\) nor a file/);
  });
});
