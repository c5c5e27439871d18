import type { Target } from '../docker/index.js';
import { basename } from 'node:path';
import { findUndoRecord } from '../evidence/undo.js';
import type { RunRequest } from './request.js';

/**
 * The incident of the records a restore or revert will read, so the undo joins the incident it
 * undoes. A --from bundle that cannot be read is bad input, said before anything changes.
 */
export async function incidentOfRecords(
  evidenceDir: string,
  targets: readonly Target[],
  recordOf: NonNullable<RunRequest['recordOf']>,
  engineId?: string,
): Promise<string | undefined> {
  const found = await Promise.all(
    targets.map((target) =>
      // Without --from, a target with no record fails in its own step, like any other.
      findUndoRecord({
        evidenceDir,
        bundle: recordOf.from,
        containerId: target.id,
        engineId,
        uses: recordOf.uses,
      }).catch((error: unknown) => {
        if (recordOf.from) throw error;
        return undefined;
      }),
    ),
  );
  // The newest record wins when targets were changed in different incidents.
  const newest = found
    .filter((r) => r !== undefined)
    .sort((a, b) => (basename(a.bundle) < basename(b.bundle) ? 1 : -1))[0];
  return newest?.incident;
}
