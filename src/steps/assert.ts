import { z } from 'zod';
import { defineStep } from './types.js';

/** Assertions read the engine's own view after an action and fail when it disagrees. */

export const isolatedStep = defineStep({
  type: 'assert.isolated',
  description: 'Fail unless the container is attached to no network (except those kept)',
  input: z
    .object({ keep: z.union([z.array(z.string()), z.string()]).default([]) })
    .strict()
    .transform(({ keep }) => ({ keep: typeof keep === 'string' ? keep.split(',').filter(Boolean) : keep })),
  outputs: [],
  timeout: 10_000,
  mutates: false,
  plan: ({ keep }) => `check that no network is attached${keep.length ? ` except ${keep.join(', ')}` : ''}`,
  async run(ctx, { keep }) {
    const details = await ctx.engine.containers.inspect(ctx.target.id, ctx.signal);
    const left = details.networks.filter((n) => !keep.includes(n.network) && !keep.includes(n.networkId));
    if (left.length > 0) throw new Error(`still attached to ${left.map((n) => n.network).join(', ')}`);
    return { note: 'attached to no network' + (keep.length ? ` besides ${keep.join(', ')}` : '') };
  },
});
