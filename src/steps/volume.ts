import { z } from 'zod';
import { entryName } from '../evidence/naming.js';
import { defineStep } from './types.js';

/**
 * volume.backup: the data a commit leaves out. Volumes are not part of the container's layer, so
 * neither `container.commit` nor `evidence.export` holds them; the archive API reads them through
 * the container at each mount's destination, works on stopped and restarting containers alike,
 * and needs no access to the host's /var/lib/docker.
 */

export interface VolumeBackup {
  name: string;
  destination: string;
  file: string;
  size: number;
  sha256: string;
}

export const backupStep = defineStep({
  type: 'volume.backup',
  description:
    'Copy each volume of the container into the bundle as a tar (volumes/<name>.tar), through the archive API',
  input: z
    .object({
      // Bind mounts are left out: a host path can be anything (/, the Docker socket), and it is not the container's data.
      volumes: z
        .union([z.array(z.string()), z.string()])
        .optional()
        .transform((v) => (typeof v === 'string' ? v.split(',') : v)?.map((s) => s.trim()).filter(Boolean))
        .describe('Only these volumes (names or mount destinations); default: every volume'),
    })
    .strict(),
  outputs: ['volumes'],
  timeout: 30 * 60_000,
  mutates: false,
  plan: ({ volumes }) => `back up ${volumes?.length ? volumes.join(', ') : 'every volume'} into volumes/<name>.tar`,
  async run(ctx, { volumes: only }) {
    const details = await ctx.engine.containers.inspect(ctx.target.id, ctx.signal);
    const all = details.mounts.filter((m) => m.type === 'volume');
    const mounts = all.filter((m) => !only?.length || only.includes(m.name ?? '') || only.includes(m.destination));
    const missing = (only ?? []).filter((o) => !mounts.some((m) => m.name === o || m.destination === o));
    if (missing.length) {
      const has = all.map((m) => `${m.name} at ${m.destination}`).join(', ') || 'none';
      throw new Error(`no volume ${missing.join(', ')} on this container (its volumes: ${has})`);
    }
    const backups: VolumeBackup[] = [];
    for (const mount of mounts) {
      const name = mount.name ?? mount.destination;
      const stream = await ctx.engine.containers.archive(ctx.target.id, mount.destination, ctx.signal);
      const ref = await ctx.artifacts.stream(`volumes/${entryName(name, '.tar')}`, stream);
      backups.push({ name, destination: mount.destination, file: ref.path, size: ref.size, sha256: ref.sha256 });
    }
    if (backups.length) await ctx.artifacts.json('volumes.json', backups);
    return {
      outputs: { volumes: backups.map((b) => b.name) },
      note: backups.length
        ? backups.map((b) => `${b.name} (${b.destination}, ${b.size} bytes)`).join(', ')
        : 'no volumes to back up',
    };
  },
});
