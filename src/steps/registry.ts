import type { StepType } from './types.js';
import { webhookStep } from './alert.js';
import { healthyStep, isolatedStep, limitsStep, stoppedStep } from './assert.js';
import { commitStep, pauseStep, reportStep, restartStep, stopStep, unpauseStep } from './container.js';
import { startStep } from './container-start.js';
import { updateStep } from './container-update.js';
import { healthWaitStep } from './health.js';
import { imageStep, inspectStep, networksStep, statsStep, topStep } from './evidence.js';
import { exportStep } from './evidence-export.js';
import { diffStep, filesStep } from './evidence-files.js';
import { logsStep } from './evidence-logs.js';
import { tagStep } from './image.js';
import { disconnectStep, restoreStep } from './network.js';
import { noteStep } from './note.js';
import { backupStep } from './volume.js';

/** Every step type firebreak knows. Registering a step is one line here. */
const steps: StepType[] = [
  inspectStep,
  networksStep,
  topStep,
  statsStep,
  logsStep,
  diffStep,
  filesStep,
  imageStep,
  exportStep,
  disconnectStep,
  restoreStep,
  isolatedStep,
  noteStep,
  pauseStep,
  unpauseStep,
  stopStep,
  restartStep,
  updateStep,
  commitStep,
  reportStep,
  tagStep,
  backupStep,
  stoppedStep,
  limitsStep,
  webhookStep,
  startStep,
  healthWaitStep,
  healthyStep,
] as StepType[];

export const stepTypes: ReadonlyMap<string, StepType> = new Map(steps.map((step) => [step.type, step]));

/** `group` is handled by the runner itself: it holds steps rather than doing anything. */
export const groupType = 'group';
