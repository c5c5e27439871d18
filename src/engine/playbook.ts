import type { StepType } from '../steps/types.js';
import type { Expectation } from './expect/load.js';
import type { ParamSpec, RetryPolicy } from './schema.js';

/** A playbook after loading: checked, ids assigned, durations in milliseconds, step types attached. */
export interface LoadedPlaybook {
  name: string;
  description?: string;
  /** The file it came from. */
  source: string;
  builtIn: boolean;
  params: Record<string, ParamSpec>;
  steps: LoadedStep[];
  onFailure: LoadedStep[];
  /** Post-conditions a drill checks after the run. */
  expect: Expectation[];
  text: string;
}

export interface LoadedStep {
  id: string;
  name?: string;
  uses: string;
  with: Record<string, unknown>;
  timeoutMs: number;
  retry?: RetryPolicy;
  continueOnError: boolean;
  /** Only for a group. */
  steps?: LoadedStep[];
  /** Undefined only for a group. */
  type?: StepType;
  /** Where it sits in the file, for messages: steps[1].steps[0]. */
  yamlPath: string;
}
