import { z } from 'zod';
import { formatBytes } from '../bytes.js';
import { EngineError } from '../errors.js';
import { defineStep } from './types.js';

/**
 * Evidence steps: each reads, never changes, and writes what it read into the bundle as it came
 * from the engine. This file holds the engine's view of the container (processes, resource use,
 * configuration, networks, image); logs, files and the filesystem export have files of their own.
 */

/** The engine refuses top on a stopped container (409): there is no process to list, and that is an answer. */
function notRunning(error: unknown): boolean {
  return error instanceof EngineError && error.statusCode === 409 && /is not running/i.test(error.engineMessage);
}

export const topStep = defineStep({
  type: 'evidence.top',
  description:
    'Save the process list (the engine runs ps -ef on the host: nothing runs inside the container, and it works while paused)',
  input: z.object({}).strict(),
  outputs: ['processes'],
  timeout: 10_000,
  mutates: false,
  plan: () => 'save top.json (processes, as ps -ef sees them from the host)',
  async run(ctx) {
    let top;
    try {
      top = await ctx.engine.containers.top(ctx.target.id, ctx.signal);
    } catch (error) {
      if (!notRunning(error)) throw error;
      return { outputs: { processes: 0 }, note: 'not running: no processes to list (top.json not written)' };
    }
    await ctx.artifacts.json('top.json', top.raw);
    const processes = top.processes.length;
    return { outputs: { processes }, note: `${processes} process${processes === 1 ? '' : 'es'}` };
  },
});

export const statsStep = defineStep({
  type: 'evidence.stats',
  description: 'Save one resource-usage sample (CPU, memory, I/O, pids) without waiting a second for a second reading',
  input: z.object({}).strict(),
  outputs: ['memory-usage', 'pids'],
  timeout: 10_000,
  mutates: false,
  plan: () => 'save stats.json (one sample: cpu, memory, network and block I/O, pids)',
  async run(ctx) {
    const stats = await ctx.engine.containers.stats(ctx.target.id, ctx.signal);
    await ctx.artifacts.json('stats.json', stats.raw);
    const memory = stats.memoryUsage;
    const pids = stats.pids;
    // A stopped container still answers, with an empty sample dated year 1.
    if (memory === undefined && stats.read?.startsWith('0001-')) {
      return { outputs: { 'memory-usage': 0, pids: 0 }, note: 'not running: the engine gave an empty sample' };
    }
    return {
      outputs: { 'memory-usage': memory ?? 0, pids: pids ?? 0 },
      note: `memory ${formatBytes(memory ?? 0)}, ${pids ?? 0} pids`,
    };
  },
});

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
        details: await ctx.engine.networks
          .inspect(attachment.networkId, ctx.signal)
          .catch((error: Error) => ({ error: error.message })),
      })),
    );
    await ctx.artifacts.json('networks.json', { networkMode: details.networkMode, networks });
    const names = details.networks.map((n) => n.network);
    return { outputs: { networks: names }, note: names.length ? names.join(', ') : 'no networks' };
  },
});

export const imageStep = defineStep({
  type: 'evidence.image',
  description: 'Save the inspect document and the layer history of the image the container runs',
  input: z.object({}).strict(),
  outputs: ['image-id', 'layers'],
  timeout: 30_000,
  mutates: false,
  plan: (_, target) => `save image.json and history.json of ${target.image}`,
  async run(ctx) {
    // By id, not by name: the tag may have moved to another image since the container started.
    const image = ctx.target.imageId;
    const [details, history] = await Promise.all([
      ctx.engine.images.inspect(image, ctx.signal),
      ctx.engine.images.history(image, ctx.signal),
    ]);
    await ctx.artifacts.json('image.json', details.raw);
    await ctx.artifacts.json('history.json', history.raw);
    return {
      outputs: { 'image-id': image, layers: history.entries },
      note: `${ctx.target.image}, ${history.entries} history entries`,
    };
  },
});

export { formatBytes };
