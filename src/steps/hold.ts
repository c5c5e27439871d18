import { messageOf } from '../errors.js';
import { placeHold, releaseHold, type HoldKind } from '../evidence/holds.js';
import type { StepContext } from './types.js';

/**
 * Records that firebreak holds this container (quarantined, paused), so recover and watch leave
 * it alone (src/engine/leave-alone.ts). The state change has happened by now and stands on its
 * own: a hold that cannot be written is a warning in the note, not a failed step. The engine's
 * events still tell a stop from a crash without it; the hold is what makes a pause firebreak's.
 */
export async function recordHold(ctx: StepContext, kind: HoldKind): Promise<string> {
  try {
    const engine = (await ctx.engine.identity()).id;
    await placeHold(ctx.evidenceDir, {
      kind,
      engine,
      container: ctx.target.id,
      name: ctx.target.name,
      incident: ctx.incident,
      run: ctx.runId,
      ...(ctx.playbook ? { playbook: ctx.playbook } : {}),
    });
    return `; held (recover and watch leave it alone)`;
  } catch (error) {
    ctx.log.warn({ error: messageOf(error) }, 'hold not recorded');
    return `; warning: the hold was not recorded (${messageOf(error)})`;
  }
}

/** Lifts firebreak's hold of `kind`; the note says so when there was one. */
export async function liftHold(ctx: StepContext, kind: HoldKind): Promise<string> {
  try {
    const engine = (await ctx.engine.identity()).id;
    return (await releaseHold(ctx.evidenceDir, engine, ctx.target.id, kind)) ? `; firebreak's ${kind} hold lifted` : '';
  } catch (error) {
    ctx.log.warn({ error: messageOf(error) }, 'hold not lifted');
    return `; warning: firebreak's ${kind} hold could not be lifted (${messageOf(error)})`;
  }
}
