import { z } from 'zod';
import { defineStep } from './types.js';

/** Evidence steps: each reads, never changes, and writes what it read into the bundle as it came from the engine. */

export const inspectStep = defineStep({
  type: 'evidence.inspect',
  description: 'Save the container inspect document (configuration, state, mounts, networks)',
  input: z.object({}).strict(),
  outputs: ['status', 'image', 'image-id', 'restart-count'],
  timeout: 10_000,
  mutates: false,
  plan: () => 'save inspect.json',
  async run(ctx) {
    const details = await ctx.engine.containers.inspect(ctx.target.id, ctx.signal);
    const artifact = await ctx.artifacts.json('inspect.json', details.raw);
    return {
      outputs: {
        status: details.state.status,
        image: details.image,
        'image-id': details.imageId,
        'restart-count': details.state.restartCount,
      },
      note: `${details.state.status}, ${artifact.size} bytes`,
    };
  },
});

export const networksStep = defineStep({
  type: 'evidence.networks',
  description: 'Save the container network attachments and the networks they belong to',
  input: z.object({}).strict(),
  outputs: ['networks'],
  timeout: 10_000,
  mutates: false,
  plan: () => 'save networks.json (attachments, aliases, addresses, network details)',
  async run(ctx) {
    const details = await ctx.engine.containers.inspect(ctx.target.id, ctx.signal);
    const networks = await Promise.all(
      details.networks.map(async (attachment) => ({
        ...attachment,
        details: await ctx.engine.networks.inspect(attachment.networkId).catch((error: Error) => ({ error: error.message })),
      })),
    );
    await ctx.artifacts.json('networks.json', { networkMode: details.networkMode, networks });
    const names = details.networks.map((n) => n.network);
    return { outputs: { networks: names }, note: names.length ? names.join(', ') : 'no networks' };
  },
});
