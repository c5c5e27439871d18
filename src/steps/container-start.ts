import { z } from 'zod';
import { defineStep } from './types.js';

/** What undoing a start takes: it was stopped before. */
export interface StartUndo {
  previous: 'stopped';
}

export const startStep = defineStep({
  type: 'container.start',
  description: 'Start an exited (or created) container; one already running is left as it is',
  input: z.object({}).strict(),
  outputs: ['status', 'started-at'],
  timeout: 60_000,
  mutates: true,
  plan: () => 'start the container (if it is not running)',
  async run(ctx) {
    const before = await ctx.engine.containers.inspect(ctx.target.id, ctx.signal);
    if (before.state.running || before.state.restarting)
      return {
        changed: false,
        outputs: { status: before.state.status, 'started-at': before.state.startedAt },
        note: `already ${before.state.paused ? 'running, paused' : before.state.status}`,
      };
    const undo: StartUndo = { previous: 'stopped' };
    ctx.recordUndo(undo);
    try {
      await ctx.engine.containers.start(ctx.target.id, ctx.signal);
    } catch (error) {
      // 304: started by someone else between the look and the call; the state is as asked.
      if ((error as { statusCode?: number }).statusCode !== 304) throw error;
    }
    const after = await ctx.engine.containers.inspect(ctx.target.id, ctx.signal);
    return {
      changed: true,
      undo,
      outputs: { status: after.state.status, 'started-at': after.state.startedAt },
      note: `started (was ${before.state.status}, exit code ${before.state.exitCode}); ${after.state.status} since ${after.state.startedAt}`,
    };
  },
});
