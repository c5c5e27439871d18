import { describe, expect, it } from 'vitest';
import {
  checkExpression,
  expressionsIn,
  renderTemplates,
  unclosedTemplate,
  type TemplateNames,
  type TemplateScope,
} from '../../src/engine/template.js';

const names: TemplateNames = {
  params: new Set(['keep-networks', 'grace']),
  steps: new Map<string, readonly string[] | undefined>([
    ['snap', ['image', 'status']],
    ['verify', []],
    ['recover', undefined],
  ]),
};

const scope: TemplateScope = {
  params: { 'keep-networks': ['monitoring', 'backup'], grace: '10s', count: 3, flag: false },
  target: { id: 'f00dfeed'.repeat(8), 'short-id': 'f00dfeedf00d', name: 'web-1', image: 'nginx:1.27' },
  incident: 'INC-42',
  now: '2025-11-30T23:59:58Z',
  run: { id: 'run-1', started: '2025-11-30T23:59:00Z' },
  steps: { snap: { outputs: { image: 'nginx:1.27', labels: { app: 'web' }, networks: ['a', 'b'] } } },
};

describe('expressionsIn', () => {
  it('finds every expression in a string, trimmed of the spaces inside the braces', () => {
    expect(expressionsIn('${{ target.name }} on ${{params.grace}}')).toEqual(['target.name', 'params.grace']);
  });

  it('finds expressions however deep they sit in objects and arrays', () => {
    const value = { a: ['${{ incident }}', { b: 'x ${{ now }} y' }], c: { d: { e: '${{ run.id }}' } } };
    expect(expressionsIn(value)).toEqual(['incident', 'now', 'run.id']);
  });

  it('finds nothing in plain text, numbers, booleans and null', () => {
    expect(expressionsIn('no templates here, not even ${ this }')).toEqual([]);
    expect(expressionsIn(42)).toEqual([]);
    expect(expressionsIn(true)).toEqual([]);
    expect(expressionsIn(null)).toEqual([]);
    expect(expressionsIn(undefined)).toEqual([]);
  });
});

describe('checkExpression', () => {
  it('accepts a declared parameter, with dashes in its name', () => {
    expect(checkExpression('params.keep-networks', names)).toBeUndefined();
    expect(checkExpression('params.grace', names)).toBeUndefined();
  });

  it('rejects a template that reads an unknown parameter', () => {
    expect(checkExpression('params.nope', names)).toMatch(/unknown parameter "nope"/);
  });

  it('rejects a parameter path that is not params.<name>', () => {
    expect(checkExpression('params', names)).toMatch(/params\.<name>/);
    expect(checkExpression('params.grace.seconds', names)).toMatch(/params\.<name>/);
  });

  it('accepts every target field and rejects the others', () => {
    for (const field of ['id', 'short-id', 'name', 'image'])
      expect(checkExpression(`target.${field}`, names)).toBeUndefined();
    expect(checkExpression('target.labels', names)).toMatch(/target has id, short-id, name, image/);
    expect(checkExpression('target', names)).toMatch(/target has/);
  });

  it('accepts run.id and run.started and rejects other run fields', () => {
    expect(checkExpression('run.id', names)).toBeUndefined();
    expect(checkExpression('run.started', names)).toBeUndefined();
    expect(checkExpression('run.host', names)).toMatch(/run has id, started/);
  });

  it('accepts incident and now, which have no fields', () => {
    expect(checkExpression('incident', names)).toBeUndefined();
    expect(checkExpression('now', names)).toBeUndefined();
    expect(checkExpression('incident.id', names)).toMatch(/incident has no fields/);
    expect(checkExpression('now.year', names)).toMatch(/now has no fields/);
  });

  it('accepts an output that an earlier step declares', () => {
    expect(checkExpression('steps.snap.outputs.image', names)).toBeUndefined();
  });

  it('rejects an output the step type does not declare, naming the ones it has', () => {
    expect(checkExpression('steps.snap.outputs.nope', names)).toBe(
      'step "snap" has no output "nope" (it has image, status)',
    );
    expect(checkExpression('steps.verify.outputs.ok', names)).toBe('step "verify" has no output "ok"');
  });

  it('accepts any output of a step whose outputs are not declared (a group)', () => {
    expect(checkExpression('steps.recover.outputs.anything', names)).toBeUndefined();
  });

  it('rejects a step that does not run earlier', () => {
    expect(checkExpression('steps.later.outputs.image', names)).toMatch(/unknown step "later"/);
  });

  it('rejects step paths that are not steps.<id>.outputs.<name>', () => {
    for (const expression of [
      'steps',
      'steps.snap',
      'steps.snap.outputs',
      'steps.snap.inputs.image',
      'steps.snap.outputs.image.tag',
    ]) {
      expect(checkExpression(expression, names)).toMatch(/steps\.<id>\.outputs\.<name>/);
    }
  });

  it('rejects an unknown root name, listing the ones templates can read', () => {
    expect(checkExpression('env.HOME', names)).toMatch(
      /unknown name "env"; templates can read params, target, steps, incident, now, run/,
    );
  });

  it('rejects an expression that is code rather than a name', () => {
    expect(checkExpression('params.grace || 5', names)).toMatch(/is not a name/);
    expect(checkExpression('process.exit()', names)).toMatch(/is not a name/);
    expect(checkExpression('', names)).toMatch(/is not a name/);
    expect(checkExpression('params..grace', names)).toMatch(/is not a name/);
  });
});

describe('renderTemplates', () => {
  it('keeps the type of the value when the whole string is one template', () => {
    expect(renderTemplates('${{ params.keep-networks }}', scope)).toEqual(['monitoring', 'backup']);
    expect(renderTemplates('${{ params.count }}', scope)).toBe(3);
    expect(renderTemplates('${{params.flag}}', scope)).toBe(false);
    expect(renderTemplates('${{ steps.snap.outputs.labels }}', scope)).toEqual({ app: 'web' });
  });

  it('renders templates inside longer text as text', () => {
    expect(renderTemplates('isolate failed on ${{ target.name }} (${{ incident }})', scope)).toBe(
      'isolate failed on web-1 (INC-42)',
    );
    expect(renderTemplates('count=${{ params.count }} flag=${{ params.flag }}', scope)).toBe('count=3 flag=false');
  });

  it('renders a list inside text as comma-separated and an object as JSON', () => {
    expect(renderTemplates('keep ${{ params.keep-networks }}', scope)).toBe('keep monitoring,backup');
    expect(renderTemplates('labels ${{ steps.snap.outputs.labels }}', scope)).toBe('labels {"app":"web"}');
  });

  it('renders a missing value as empty text inside text, and as undefined when whole', () => {
    expect(renderTemplates('[${{ params.missing }}]', scope)).toBe('[]');
    expect(renderTemplates('${{ params.missing }}', scope)).toBeUndefined();
    expect(renderTemplates('${{ steps.absent.outputs.x }}', scope)).toBeUndefined();
  });

  it('treats two templates side by side as text, not as one whole template', () => {
    expect(renderTemplates('${{ target.name }}${{ target.image }}', scope)).toBe('web-1nginx:1.27');
  });

  it('fills in templates in nested objects and arrays and leaves other values alone', () => {
    const input = {
      keep: '${{ params.keep-networks }}',
      text: 'on ${{ target.short-id }}',
      nested: { list: ['${{ run.id }}', 'plain', 7, true, null], at: '${{ now }}' },
      grace: 5,
    };
    expect(renderTemplates(input, scope)).toEqual({
      keep: ['monitoring', 'backup'],
      text: 'on f00dfeedf00d',
      nested: { list: ['run-1', 'plain', 7, true, null], at: '2025-11-30T23:59:58Z' },
      grace: 5,
    });
  });

  it('does not change the value it was given', () => {
    const input = { text: '${{ incident }}', list: ['${{ now }}'] };
    renderTemplates(input, scope);
    expect(input).toEqual({ text: '${{ incident }}', list: ['${{ now }}'] });
  });

  it('never evaluates the expression as code', () => {
    expect(renderTemplates('x ${{ process.exit }}', scope)).toBe('x ');
    expect(renderTemplates('${{ params.count + 1 }}', scope)).toBeUndefined();
    expect(renderTemplates('grace ${{ params.grace || 5 }}', scope)).toBe('grace ');
  });
});

describe('unclosedTemplate', () => {
  it('accepts text without templates and text whose templates are all closed', () => {
    expect(unclosedTemplate('plain text, even with }} or ${ x }')).toBeUndefined();
    expect(unclosedTemplate('${{ target.name }} and ${{params.grace}}')).toBeUndefined();
  });

  it('names a ${{ that nothing closes, quoting the text from there', () => {
    expect(unclosedTemplate('hi ${{ target.name')).toBe('"${{ target.name": a ${{ without its closing }}');
    expect(unclosedTemplate('${{ a }} then ${{ b }')).toBe('"${{ b }": a ${{ without its closing }}');
  });

  it('names a ${{ closed only after a stray }, which the renderer would leave as literal text', () => {
    expect(unclosedTemplate('${{ a } }}')).toMatch(/without its closing/);
  });

  it('shortens a long remainder', () => {
    expect(unclosedTemplate(`\${{ ${'x'.repeat(100)}`)).toBe(
      `"\${{ ${'x'.repeat(36)}...": a \${{ without its closing }}`,
    );
  });
});
