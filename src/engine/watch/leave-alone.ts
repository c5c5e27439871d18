/**
 * Why watch must not touch a container, or undefined when it may. People stop a crash-looping
 * container on purpose to look at it; a healer that brings it back destroys that chance.
 */
import type { ContainerDetails } from '../../docker/index.js';
import type { Activity } from './activity.js';

export const ignoreLabel = 'firebreak.ignore';

export function leaveAloneInStream(details: ContainerDetails, activity: Activity): string | undefined {
  if (details.labels[ignoreLabel] === 'true') return `labelled ${ignoreLabel}=true`;
  if (details.state.paused) return 'paused';
  return activity.stoppedOnPurpose(details.id);
}
