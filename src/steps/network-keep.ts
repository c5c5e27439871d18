import { z } from 'zod';
import { EngineError } from '../errors.js';
import type { StepContext } from './types.js';

/** `keep`: networks to leave attached, as a list or a comma-separated string (what a template renders). */
export const keepInput = z
  .object({ keep: z.union([z.array(z.string()), z.string()]).default([]) })
  .strict()
  .transform(({ keep }) => ({
    keep: (typeof keep === 'string' ? keep.split(',') : keep).map((k) => k.trim()).filter(Boolean),
  }));

/**
 * The networks to keep, as ids. A value is what `docker network` accepts (name, id or id prefix),
 * resolved by the engine: matching by eye against names let `--keep-network 3f2a` disconnect the
 * very network it was asked to keep. A value that names no network keeps nothing, and says so.
 */
export async function resolveKept(
  ctx: StepContext,
  keep: readonly string[],
): Promise<{ ids: Set<string>; unknown: string[] }> {
  const ids = new Set<string>();
  const unknown: string[] = [];
  for (const value of keep) {
    try {
      ids.add((await ctx.engine.networks.inspect(value, ctx.signal)).id);
    } catch (error) {
      if (!(error instanceof EngineError && error.notFound)) throw error;
      unknown.push(value);
    }
  }
  return { ids, unknown };
}

/**
 * The attachments that connect the container to something. `--network none` shows up as an
 * attachment to the null-driver network `none`, which has no interface to cut: disconnecting from
 * it would only change how the container was created, and restore would then have to put it back.
 */
export function connectingAttachments<T extends { network: string }>(attachments: readonly T[]): T[] {
  return attachments.filter((attachment) => attachment.network !== 'none');
}

/** Why the container's network cannot be cut with disconnects, or undefined when it can. */
export function sharedNamespaceReason(networkMode: string): string | undefined {
  if (networkMode === 'host') {
    return 'the container uses the host network namespace; it cannot be disconnected (stop or pause it instead)';
  }
  if (networkMode.startsWith('container:')) {
    return `the container shares the network namespace of ${networkMode.slice('container:'.length)}; isolate that container, or stop or pause this one`;
  }
  return undefined;
}
