import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Engine, Target } from '../../src/docker/index.js';
import type { LoadedPlaybook, LoadedStep } from '../../src/engine/playbook.js';
import { runTarget } from '../../src/engine/runner.js';
import type { StepRecord } from '../../src/evidence/record.js';
import { defineStep, type ArtifactSink, type StepContext, type StepOutcome } from '../../src/steps/types.js';

// The runner's own logic (order, retry, timeouts, continue-on-error, on-failure, groups, templates)
// with step types that touch nothing; what the steps do to Docker is tested against the engine.

const target: Target = { id: 'c0ffee'.padEnd(64, '0'), name: 'web-1', image: 'app:1', imageId: '', labels: {} };
const noArtifacts: ArtifactSink = {
  file: async () => ({ path: '', size: 0, sha256: '' }),
  json: async () => ({ path: '', size: 0, sha256: '' }),
  stream: async () => ({ path: '', size: 0, sha256: '' }),
};

function scriptedType(
  name: string,
  behaviour: (input: { text?: string }, attempt: number, signal: AbortSignal) => Promise<StepOutcome>,
) {
  let attempt = 0;
  return defineStep({
    type: name,
    description: name,
    input: z.object({ text: z.string().optional() }).strict(),
    outputs: ['echo'],
    timeout: 1000,
    mutates: false,
    plan: () => name,
    run: (ctx, input) => behaviour(input, ++attempt, ctx.signal),
  });
}

/** A step type that changes state, as the runner sees it: Ctrl-C lets it finish. */
function stateChange(name: string, run: (ctx: StepContext) => Promise<StepOutcome>) {
  return defineStep({
    type: name,
    description: name,
    input: z.object({}).strict(),
    outputs: [],
    timeout: 1000,
    mutates: true,
    plan: () => name,
    run,
  });
}

function step(id: string, type: ReturnType<typeof scriptedType>, extra: Partial<LoadedStep> = {}): LoadedStep {
  return {
    id,
    uses: type.type,
    with: {},
    timeoutMs: type.timeout,
    continueOnError: false,
    type,
    yamlPath: `steps.${id}`,
    ...extra,
  };
}

function playbook(steps: LoadedStep[], onFailure: LoadedStep[] = []): LoadedPlaybook {
  return { name: 'test', source: 'test.yaml', builtIn: false, params: {}, steps, onFailure, expect: [], text: '' };
}

async function run(pb: LoadedPlaybook, signal = new AbortController().signal) {
  const finished: StepRecord[] = [];
  const record = await runTarget({
    engine: {} as Engine,
    target,
    playbook: pb,
    params: { who: 'on-call' },
    incident: 'INC-1',
    runId: 'run-1',
    runStartedAt: new Date('2026-11-29T03:15:00Z'),
    evidenceDir: '/nonexistent',
    signal,
    log: pino({ level: 'silent' }),
    artifacts: noArtifacts,
    hooks: { stepStarted: () => {}, stepFinished: (r) => finished.push(r) },
  });
  return { record, finished };
}

const ok = scriptedType('test.ok', async (input) => ({ outputs: { echo: input.text ?? 'ok' } }));
const boom = () =>
  scriptedType('test.boom', async () => {
    throw new Error('engine said: No such container: web-1');
  });

describe('runTarget', () => {
  it('runs steps in order and passes outputs to later templates', async () => {
    const { record } = await run(
      playbook([
        step('first', ok, { with: { text: '${{ target.name }} at ${{ now }}' } }),
        step('second', ok, { with: { text: 'saw ${{ steps.first.outputs.echo }} for ${{ incident }}' } }),
      ]),
    );
    expect(record.status).toBe('succeeded');
    expect(record.steps.map((s) => s.outputs?.echo)).toEqual([
      'web-1 at 20261129T031500Z',
      'saw web-1 at 20261129T031500Z for INC-1',
    ]);
  });

  it('skips the remaining steps after a failure and runs on-failure', async () => {
    const { record } = await run(playbook([step('a', ok), step('b', boom()), step('c', ok)], [step('alert', ok)]));
    expect(record.status).toBe('failed');
    expect(record.steps.map((s) => s.status)).toEqual(['succeeded', 'failed', 'skipped']);
    expect(record.steps[1]!.error).toBe('test.boom on web-1: engine said: No such container: web-1');
    expect(record.steps[2]!.note).toBe('not run: step b failed');
    expect(record.onFailure?.map((s) => s.status)).toEqual(['succeeded']);
  });

  it('goes on after a continue-on-error step fails, without on-failure, and still counts the target as failed', async () => {
    const { record } = await run(
      playbook([step('evidence', boom(), { continueOnError: true }), step('contain', ok)], [step('alert', ok)]),
    );
    expect(record.steps.map((s) => s.status)).toEqual(['failed', 'succeeded']);
    expect(record.steps[0]!.continueOnError).toBe(true);
    expect(record.onFailure).toBeUndefined();
    expect(record.status).toBe('failed');
  });

  it('retries a failing step and records the attempts', async () => {
    const flaky = scriptedType('test.flaky', async (_input, attempt) => {
      if (attempt < 3) throw new Error(`transient ${attempt}`);
      return { note: 'third time' };
    });
    const { record } = await run(
      playbook([step('flaky', flaky, { retry: { attempts: 3, delay: '1ms', backoff: 'fixed' } })]),
    );
    expect(record.steps[0]).toMatchObject({ status: 'succeeded', attempts: 3, note: 'third time' });
  });

  it('fails a step that outlives its timeout even when it ignores the signal', async () => {
    const hung = scriptedType('test.hung', () => new Promise(() => {}));
    const { record } = await run(playbook([step('hung', hung, { timeoutMs: 20 })]));
    expect(record.steps[0]).toMatchObject({ status: 'failed', error: 'test.hung on web-1: timed out after 20ms' });
  });

  it('retries a group as one unit', async () => {
    const once = scriptedType('test.once', async (_input, attempt) => {
      if (attempt === 1) throw new Error('not healthy yet');
      return {};
    });
    const group: LoadedStep = {
      id: 'recover',
      uses: 'group',
      with: {},
      timeoutMs: 1000,
      continueOnError: false,
      retry: { attempts: 2, delay: '1ms', backoff: 'exponential' },
      steps: [step('restart', ok), step('wait', once)],
      yamlPath: 'steps[0]',
    };
    const { record } = await run(playbook([group]));
    expect(record.steps[0]).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(record.steps[0]!.steps?.map((s) => s.status)).toEqual(['succeeded', 'succeeded']);
  });

  it('marks the current and remaining steps aborted on interrupt and runs no on-failure', async () => {
    const controller = new AbortController();
    const slow = scriptedType(
      'test.slow',
      (_input, _attempt, signal) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    );
    setTimeout(() => controller.abort(new Error('interrupted by SIGINT')), 10);
    const { record } = await run(
      playbook([step('slow', slow), step('after', ok)], [step('alert', ok)]),
      controller.signal,
    );
    expect(record.status).toBe('aborted');
    expect(record.steps.map((s) => s.status)).toEqual(['aborted', 'aborted']);
    expect(record.onFailure).toBeUndefined();
  });

  it('lets a state change in flight finish on interrupt, records its undo data, and stops before the next step', async () => {
    const controller = new AbortController();
    let sawAbort = false;
    const change = stateChange('test.change', async (ctx) => {
      controller.abort(new Error('interrupted by SIGINT'));
      await new Promise((resolve) => setTimeout(resolve, 20));
      sawAbort = ctx.signal.aborted;
      return { changed: true, undo: { attachments: ['front'] } };
    });
    const { record } = await run(playbook([step('change', change as never), step('after', ok)]), controller.signal);
    expect(sawAbort).toBe(false);
    expect(record.status).toBe('aborted');
    expect(record.steps.map((s) => s.status)).toEqual(['succeeded', 'aborted']);
    expect(record.steps[0]!.undo).toEqual({ attachments: ['front'] });
  });

  it('keeps the undo data a state change recorded before it failed halfway', async () => {
    const halfway = stateChange('test.halfway', async (ctx) => {
      ctx.recordUndo({ attachments: ['front', 'back'] });
      throw new Error(`engine said: cannot disconnect ${target.id}`);
    });
    const { record } = await run(playbook([step('cut', halfway as never)]));
    expect(record.steps[0]).toMatchObject({ status: 'failed', undo: { attachments: ['front', 'back'] } });
    expect(record.steps[0]!.error).toBe('test.halfway on web-1: engine said: cannot disconnect web-1');
  });

  it('fails a step whose templated input does not fit its type, without running it', async () => {
    let ran = false;
    const strict = defineStep({
      type: 'test.strict',
      description: 'strict',
      input: z.object({ count: z.number() }).strict(),
      outputs: [],
      timeout: 1000,
      mutates: false,
      plan: () => '',
      run: async () => {
        ran = true;
        return {};
      },
    });
    const { record } = await run(playbook([step('strict', strict as never, { with: { count: '${{ params.who }}' } })]));
    expect(ran).toBe(false);
    expect(record.steps[0]!.status).toBe('failed');
    expect(record.steps[0]!.error).toMatch(/steps\.strict\.with\.count \(test\.strict\)/);
  });
});
