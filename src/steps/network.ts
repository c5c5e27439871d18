import { z } from 'zod';
import type { NetworkAttachment } from '../docker/index.js';
import { findUndoRecord } from '../evidence/undo.js';
import { connectingAttachments, keepInput, resolveKept, sharedNamespaceReason } from './network-keep.js';
import { defineStep, type StepContext } from './types.js';

/** The default bridge takes neither network-scoped aliases nor a chosen address. */
const defaultBridge = 'bridge';

export interface DisconnectUndo {
  attachments: NetworkAttachment[];
}

export const disconnectStep = defineStep({
  type: 'network.disconnect',
  description: 'Disconnect the container from every network except those kept, recording each attachment',
  input: keepInput,
  outputs: ['disconnected'],
  timeout: 15_000,
  mutates: true,
  plan: ({ keep }) => `disconnect from every network${keep.length ? ` except ${keep.join(', ')}` : ''}`,
  async run(ctx, { keep }) {
    const details = await ctx.engine.containers.inspect(ctx.target.id, ctx.signal);
    const shared = sharedNamespaceReason(details.networkMode);
    if (shared) throw new Error(shared);
    const kept = await resolveKept(ctx, keep);
    const cut = connectingAttachments(details.networks).filter((attachment) => !kept.ids.has(attachment.networkId));
    // Recorded before the first disconnect: whatever happens next, what was cut can be put back.
    ctx.recordUndo({ attachments: cut } satisfies DisconnectUndo);
    // Disconnect all at once: at 3 a.m. the window between the first and last network matters.
    await Promise.all(
      cut.map((attachment) => ctx.engine.networks.disconnect(attachment.networkId, ctx.target.id, ctx.signal)),
    );
    const undo: DisconnectUndo = { attachments: cut };
    const names = cut.map((a) => a.network);
    const unknownNote = kept.unknown.length ? `; no network named ${kept.unknown.join(', ')} to keep` : '';
    return {
      outputs: { disconnected: names },
      undo,
      changed: cut.length > 0,
      note:
        (cut.length ? `disconnected from ${names.join(', ')}` : 'already isolated: no network to disconnect') +
        unknownNote,
    };
  },
});

export const restoreStep = defineStep({
  type: 'network.restore',
  description: 'Reconnect the container to the networks recorded by network.disconnect, with aliases and addresses',
  input: z
    .object({
      from: z.string().optional().describe('Bundle holding the record; default: the newest one for this container'),
    })
    .strict(),
  outputs: ['restored', 'source'],
  timeout: 30_000,
  mutates: true,
  plan: ({ from }) =>
    `reconnect the networks recorded ${from ? `in ${from}` : 'by the newest isolate bundle of this container'}`,
  async run(ctx, { from }) {
    const record = await findUndoRecord<DisconnectUndo>({
      evidenceDir: ctx.evidenceDir,
      bundle: from || undefined,
      containerId: ctx.target.id,
      engineId: (await ctx.engine.identity()).id,
      uses: 'network.disconnect',
    });
    const details = await ctx.engine.containers.inspect(ctx.target.id, ctx.signal);
    const attached = new Set(details.networks.map((n) => n.networkId));
    const missing = record.undo.attachments.filter((a) => !attached.has(a.networkId));
    const notes: string[] = [];
    for (const attachment of missing) notes.push(await reconnect(ctx, attachment));
    const restored = missing.map((a) => a.network);
    return {
      outputs: { restored, source: record.bundle },
      changed: missing.length > 0,
      note: missing.length
        ? `reconnected ${notes.join('; ')} (record from ${record.bundle})`
        : 'already connected to every recorded network',
    };
  },
});

async function reconnect(ctx: StepContext, attachment: NetworkAttachment): Promise<string> {
  const network = await ctx.engine.networks
    .inspect(attachment.networkId, ctx.signal)
    .catch(() => ctx.engine.networks.inspect(attachment.network, ctx.signal));
  const target = { ...attachment, networkId: network.id };
  if (network.name === defaultBridge) {
    await ctx.engine.networks.connect(ctx.target.id, { ...target, aliases: [] }, false, ctx.signal);
    return network.name;
  }
  // The inspect document does not say whether a subnet was configured or allocated, so ask for
  // the recorded address and let the engine decide; only on a configured subnet will it agree.
  const addressable = Boolean(attachment.ipv4 || attachment.ipv6);
  try {
    await ctx.engine.networks.connect(ctx.target.id, target, addressable, ctx.signal);
    return addressable ? `${network.name} at ${attachment.ipv4 ?? attachment.ipv6}` : network.name;
  } catch (error) {
    const message = (error as Error).message;
    if (!addressable) throw error;
    if (/user configured subnets/i.test(message)) {
      await ctx.engine.networks.connect(ctx.target.id, target, false, ctx.signal);
      return `${network.name} (address chosen by the engine: the network has no configured subnet)`;
    }
    if (!/address|in use/i.test(message)) throw error;
    // The address went to someone else meanwhile; connectivity beats the old address.
    await ctx.engine.networks.connect(ctx.target.id, target, false, ctx.signal);
    ctx.log.warn({ network: network.name, address: attachment.ipv4 }, 'recorded address unavailable; engine chose one');
    return `${network.name} (recorded address ${attachment.ipv4 ?? attachment.ipv6} unavailable: ${message})`;
  }
}
