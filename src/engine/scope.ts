import type { Target } from '../docker/index.js';
import { compactTimestamp } from '../evidence/naming.js';
import type { TemplateScope } from './template.js';

export function templateScope(run: {
  target: Target;
  params: Record<string, unknown>;
  incident: string;
  runId: string;
  runStartedAt: Date;
}): TemplateScope {
  return {
    params: run.params,
    target: {
      id: run.target.id,
      'short-id': run.target.id.slice(0, 12),
      name: run.target.name,
      image: run.target.image,
    },
    incident: run.incident,
    run: { id: run.runId, started: run.runStartedAt.toISOString() },
    // `now` is the run's start, so every step of a run names the same moment (one quarantine tag).
    now: compactTimestamp(run.runStartedAt),
    steps: {},
  };
}
