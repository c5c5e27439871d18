import { describe, expect, it } from 'vitest';
import type { Target } from '../../src/docker/index.js';
import { UsageError } from '../../src/errors.js';
import { parsePlaybook } from '../../src/engine/loader.js';
import { planTarget } from '../../src/engine/plan.js';

const yaml = (...lines: string[]) => `${lines.join('\n')}\n`;
const target = (name: string): Target => ({
  id: 'c0ffee'.padEnd(64, '0'),
  name,
  image: 'app:1',
  imageId: '',
  labels: {},
});
const run = (name: string) => ({
  target: target(name),
  params: {},
  incident: 'INC-1',
  runId: 'run-1',
  runStartedAt: new Date('2026-12-01T10:00:00Z'),
});

// A tag whose image is known only after the commit, and whose repository comes from the target's name.
const tagging = parsePlaybook(
  yaml(
    'name: tagging',
    'steps:',
    '  - id: commit',
    '    uses: container.commit',
    '  - id: tag',
    '    uses: image.tag',
    '    with:',
    '      image: "${{ steps.commit.outputs.image }}"',
    '      repository: "quarantine/${{ target.name }}"',
  ),
  'tagging.yaml',
);

describe('planTarget', () => {
  it("plans a step that reads an earlier step's outputs, showing where they come from", () => {
    const plan = planTarget(tagging, run('web-1'));
    expect(plan.steps[1]).toMatchObject({ id: 'tag', mutates: true });
    expect(plan.steps[1]!.line).toMatch(/<output commit\.image> as quarantine\/web-1:/);
  });

  it("leaves to the run an input that only an earlier step's output can make valid", () => {
    const waiting = parsePlaybook(
      yaml(
        'name: w',
        'steps:',
        '  - id: snap',
        '    uses: evidence.inspect',
        '  - uses: evidence.logs',
        '    with: { since: "${{ steps.snap.outputs.image }}" }',
      ),
      'w.yaml',
    );
    expect(planTarget(waiting, run('web-1')).steps[1]!.line).toMatch(/\(inputs from earlier steps\)$/);
  });

  it('still refuses, before the run, an input of that step that no earlier step fills in', () => {
    // Docker refuses upper case in a repository; found only after the commit, this stopped a quarantine halfway.
    expect(() => planTarget(tagging, run('Web-1'))).toThrow(UsageError);
    expect(() => planTarget(tagging, run('Web-1'))).toThrow(/^steps\[1\]\.with\.repository \(image\.tag\): /);
  });

  it('resolves the inputs of a step that reads only what is known before the run', () => {
    const plan = planTarget(
      parsePlaybook(
        yaml('name: n', 'steps:', '  - uses: note', '    with: { text: "on ${{ target.name }}" }'),
        'n.yaml',
      ),
      run('web-1'),
    );
    expect(plan.steps[0]).toMatchObject({ line: expect.stringContaining('on web-1'), input: { text: 'on web-1' } });
  });
});
