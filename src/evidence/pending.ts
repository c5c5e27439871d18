/**
 * What is still to undo on each container, read from run records in time order: an isolate
 * without a later restore, a throttle without a revert, a pause without an unpause, a stop without
 * a start. One reading for the report's summary (one run) and `incident show` (every run of an
 * incident), so both name the same commands.
 */
import { flattenSteps, type RunRecord, type StepRecord } from './record.js';

export type PendingKind = 'networks' | 'limits' | 'paused' | 'stopped';

export interface PendingUndo {
  kind: PendingKind;
  containerId: string;
  container: string;
  /** What was done, in a few words: `disconnected from front, back`. */
  what: string;
  /** When the change was made (the step's start), and in which run and bundle. */
  at?: string;
  runId: string;
  bundle?: string;
  /** The exact command that undoes it. */
  command: string;
}

export interface RecordInBundle {
  record: RunRecord;
  /** The bundle file; absent for the run whose bundle is being written. */
  bundle?: string;
}

/** Folds the runs, oldest first, into what is left to undo, by container then kind. */
export function pendingUndo(runs: readonly RecordInBundle[]): PendingUndo[] {
  const open = new Map<string, Map<PendingKind, PendingUndo>>();
  for (const { record, bundle } of runs) {
    for (const target of record.targets) {
      const state = open.get(target.id) ?? new Map<PendingKind, PendingUndo>();
      open.set(target.id, state);
      for (const step of flattenSteps([...target.steps, ...(target.onFailure ?? [])])) {
        applyStep(state, step, { containerId: target.id, container: target.name, runId: record.runId, bundle });
      }
    }
  }
  return [...open.values()].flatMap((state) => [...state.values()]);
}

type Where = Pick<PendingUndo, 'containerId' | 'container' | 'runId' | 'bundle'>;

/**
 * A failed step that recorded undo data changed something before it stopped: it counts, as it
 * does for restore (see undo.ts). A step that changed nothing (`changed: false`) does not.
 */
function applyStep(state: Map<PendingKind, PendingUndo>, step: StepRecord, where: Where): void {
  const changed = step.changed !== false && (step.status === 'succeeded' || step.undo !== undefined);
  if (!changed) return;
  const add = (kind: PendingKind, what: string, command: string) =>
    state.set(kind, { kind, ...where, what, ...(step.startedAt ? { at: step.startedAt } : {}), command });
  const name = where.container;
  const from = where.bundle ? ` --from ${shellWord(where.bundle)}` : ' --from <bundle>';
  switch (step.uses) {
    case 'network.disconnect': {
      const cut = (step.undo as { attachments?: Array<{ network?: string }> } | undefined)?.attachments ?? [];
      if (cut.length === 0) return;
      add(
        'networks',
        `disconnected from ${cut.map((a) => a.network ?? '?').join(', ')}`,
        `firebreak restore-network ${name}${from}`,
      );
      return;
    }
    case 'network.restore':
      state.delete('networks');
      return;
    case 'container.update':
      // A throttle records the limits it replaced; a revert records none and ends the throttle.
      if (step.undo === undefined) state.delete('limits');
      else add('limits', `limits set: ${step.note ?? 'see the bundle'}`, `firebreak throttle ${name} --revert${from}`);
      return;
    case 'container.pause':
      add('paused', 'paused', `firebreak unpause ${name}`);
      return;
    case 'container.unpause':
      state.delete('paused');
      return;
    case 'container.stop':
      state.delete('paused');
      add('stopped', 'stopped', `docker start ${name}`);
      return;
    case 'container.start':
    case 'container.restart':
      state.delete('paused');
      state.delete('stopped');
      return;
  }
}

/** A path as one shell word: bare when it is plain, else in single quotes. */
export function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
