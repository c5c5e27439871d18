import type { StepType } from './types.js';
import { isolatedStep } from './assert.js';
import { inspectStep, networksStep } from './evidence.js';
import { disconnectStep, restoreStep } from './network.js';
import { noteStep } from './note.js';

/** Every step type firebreak knows. Registering a step is one line here. */
const steps: StepType[] = [
  inspectStep,
  networksStep,
  disconnectStep,
  restoreStep,
  isolatedStep,
  noteStep,
] as StepType[];

export const stepTypes: ReadonlyMap<string, StepType> = new Map(steps.map((step) => [step.type, step]));

/** `group` is handled by the runner itself: it holds steps rather than doing anything. */
export const groupType = 'group';
