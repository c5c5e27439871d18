import type { Target } from '../docker/index.js';
import { planInput } from './input.js';
import type { LoadedPlaybook, LoadedStep } from './playbook.js';
import { templateScope } from './scope.js';
import type { TemplateScope } from './template.js';
import { formatDuration } from '../duration.js';

export interface PlannedStep {
  id: string;
  uses: string;
  /** One line a person reads before anything happens. */
  line: string;
  mutates: boolean;
  input?: unknown;
  timeout: string;
  retry?: string;
  continueOnError?: boolean;
  steps?: PlannedStep[];
}

export interface TargetPlan {
  target: { id: string; name: string; image: string };
  steps: PlannedStep[];
  onFailure: PlannedStep[];
}

/**
 * Resolve every step's inputs for one target, without touching anything. A real run plans first
 * too, so bad input is exit 2 before the first action, never halfway through containment.
 */
export function planTarget(
  playbook: LoadedPlaybook,
  run: { target: Target; params: Record<string, unknown>; incident: string; runId: string; runStartedAt: Date },
): TargetPlan {
  const scope = templateScope(run);
  // Outputs of earlier steps exist only at run time; the plan shows where they come from.
  // Every name answers, own property included: template lookups read own properties only.
  const everyName = <T>(value: (name: string) => T): object =>
    new Proxy(
      {},
      {
        get: (_, name) => value(String(name)),
        getOwnPropertyDescriptor: (_, name) => ({ value: value(String(name)), enumerable: true, configurable: true }),
      },
    );
  scope.steps = everyName((id) => ({ outputs: everyName((key) => `<output ${id}.${key}>`) })) as TemplateScope['steps'];
  return {
    target: { id: run.target.id, name: run.target.name, image: run.target.image },
    steps: playbook.steps.map((step) => planStep(step, scope, run.target)),
    onFailure: playbook.onFailure.map((step) => planStep(step, scope, run.target)),
  };
}

function planStep(step: LoadedStep, scope: TemplateScope, target: Target): PlannedStep {
  const common = {
    id: step.id,
    uses: step.uses,
    timeout: formatDuration(step.timeoutMs),
    ...(step.retry
      ? { retry: `${step.retry.attempts} attempts, ${step.retry.backoff} backoff from ${step.retry.delay}` }
      : {}),
    ...(step.continueOnError ? { continueOnError: true } : {}),
  };
  if (step.steps) {
    const steps = step.steps.map((child) => planStep(child, scope, target));
    return {
      ...common,
      line: `group of ${steps.length}: ${steps.map((s) => s.id).join(', ')}`,
      mutates: steps.some((s) => s.mutates),
      steps,
    };
  }
  const type = step.type!;
  const resolved = planInput(step, scope);
  if (!('input' in resolved))
    return { ...common, line: `${type.description} (inputs from earlier steps)`, mutates: type.mutates };
  return { ...common, line: type.plan(resolved.input as never, target), mutates: type.mutates, input: resolved.input };
}
