import { z } from 'zod';
import { formatBytes } from './evidence.js';
import { defineStep } from './types.js';

/**
 * The whole container filesystem as the engine exports it (image layers and writable layer
 * merged, volumes not included). Last in a forensics run because it is the slowest read and the
 * least volatile: a file on disk outlives a process or a socket. Of unknown length, it is spooled
 * to a file in the evidence folder while it is hashed, never held in memory.
 */
export const exportStep = defineStep({
  type: 'evidence.export',
  description: 'Save the whole container filesystem as filesystem.tar (docker export), streamed',
  input: z
    .object({
      enabled: z.boolean().default(true).describe('false records the step as deliberately not run (--no-export)'),
    })
    .strict(),
  outputs: ['bytes', 'sha256'],
  timeout: 60 * 60_000,
  mutates: false,
  plan: ({ enabled }) =>
    enabled ? 'save filesystem.tar (the whole filesystem, streamed)' : 'no filesystem export (disabled)',
  async run(ctx, { enabled }) {
    if (!enabled)
      return { outputs: { bytes: 0, sha256: '' }, note: 'not exported: disabled for this run (--no-export)' };
    const source = await ctx.engine.containers.export(ctx.target.id, ctx.signal);
    const artifact = await ctx.artifacts.stream('filesystem.tar', source);
    return {
      outputs: { bytes: artifact.size, sha256: artifact.sha256 },
      note: `${formatBytes(artifact.size)}, sha256 ${artifact.sha256.slice(0, 12)}…`,
    };
  },
});
