import { parseDuration } from '../duration.js';
import { UsageError, messageOf } from '../errors.js';
import { stepTypes } from '../steps/registry.js';
import { loadPlaybook } from './loader.js';
import type { LoadedPlaybook, LoadedStep } from './playbook.js';
import type { RetryPolicy } from './schema.js';

export type RecoverAction = 'restart' | 'stop' | 'none';

/** What `recover`'s flags ask of the auto-recover playbook. */
export interface RecoverPolicy {
  retries: number;
  delay: string;
  backoff: 'fixed' | 'exponential';
  maxDelay: string;
  action: RecoverAction;
  quarantineOnFailure: boolean;
}

/** The quarantine playbook's steps that escalation borrows: the evidence is already in this bundle. */
const quarantineSteps = ['commit', 'tag', 'stop', 'verify'];

/** Retries and their delays as a retry policy; a bad value is exit 2, named by its flag. */
export function retryPolicyOf(policy: RecoverPolicy): RetryPolicy {
  if (!Number.isInteger(policy.retries) || policy.retries < 0 || policy.retries > 99)
    throw new UsageError(`--retries ${policy.retries}: a whole number from 0 to 99`);
  for (const [flag, value] of [
    ['--delay', policy.delay],
    ['--max-delay', policy.maxDelay],
  ] as const) {
    try {
      parseDuration(value, flag);
    } catch (error) {
      throw new UsageError(messageOf(error));
    }
  }
  return { attempts: policy.retries + 1, delay: policy.delay, backoff: policy.backoff, 'max-delay': policy.maxDelay };
}

/**
 * auto-recover.yaml as the flags ask: the recovery group's retry policy set, the group swapped for
 * a stop (`--action stop`) or an alert (`--action none`), and quarantine added to the escalation.
 * The evidence steps before it are never touched: they come first whatever is asked.
 */
export function tailorAutoRecover(policy: RecoverPolicy, base = loadPlaybook('auto-recover')): LoadedPlaybook {
  const retry = retryPolicyOf(policy);
  const at = base.steps.findIndex((step) => step.id === 'recover');
  if (at < 0) throw new UsageError(`playbook ${base.source} has no step "recover" to tailor`);
  const group = base.steps[at]!;
  const evidence = base.steps.slice(0, at);
  const after = base.steps.slice(at + 1);
  let steps: LoadedStep[];
  // The playbook's post-conditions speak of a recovered container: a stop or no action has other ones.
  const expect = policy.action === 'restart' ? base.expect : [];
  if (policy.action === 'restart') steps = [...evidence, { ...group, retry }, ...after];
  else if (policy.action === 'stop') {
    steps = [...evidence, builtStep('stop', 'container.stop', { grace: '${{ params.grace }}' }, group.yamlPath)];
  } else {
    const text =
      'firebreak found ${{ target.name }} unhealthy: the evidence is kept (incident ${{ incident }}); nothing was changed (--action none)';
    steps = [...evidence, builtStep('alert', 'alert.webhook', { text }, group.yamlPath, true)];
  }
  const onFailure = [...base.onFailure];
  if (policy.quarantineOnFailure) {
    const quarantine = loadPlaybook('quarantine');
    for (const id of quarantineSteps) {
      const step = quarantine.steps.find((s) => s.id === id);
      if (!step) throw new UsageError(`the quarantine playbook has no step "${id}" to escalate with`);
      onFailure.push({ ...step, yamlPath: `on-failure[${onFailure.length}] (quarantine ${step.yamlPath})` });
    }
  }
  return { ...base, steps, onFailure, expect };
}

function builtStep(
  id: string,
  uses: string,
  input: Record<string, unknown>,
  yamlPath: string,
  continueOnError = false,
): LoadedStep {
  const type = stepTypes.get(uses);
  if (!type) throw new UsageError(`no step type ${uses}`);
  return { id, uses, with: input, timeoutMs: type.timeout, continueOnError, type, yamlPath };
}
