import { z } from 'zod';
import { answer } from './shape.js';
import type { ContainerDetails, ContainerState, Mount, NetworkAttachment } from './types.js';

/**
 * The Engine API's inspect document, reduced to our own ContainerDetails; the raw document rides
 * along for the bundle. The schema holds only the fields read below: what toDetails needs to exist
 * is required, what it defaults is optional (and may be null, as the engine writes it).
 */

const labels = z.record(z.string(), z.string()).nullish();
const text = z.string().nullish();

const inspectSchema = z.looseObject({
  Id: z.string(),
  Name: z.string(),
  Image: z.string(),
  Config: z.looseObject({
    Image: z.string(),
    Tty: z.boolean().nullish(),
    Labels: labels,
    Healthcheck: z.looseObject({ Test: z.array(z.string()).nullish() }).nullish(),
  }),
  State: z.looseObject({
    Status: z.string(),
    Running: z.boolean(),
    Paused: z.boolean(),
    Restarting: z.boolean(),
    ExitCode: z.number(),
    OOMKilled: z.boolean(),
    StartedAt: text,
    FinishedAt: text,
    Health: z
      .looseObject({
        Status: z.string(),
        FailingStreak: z.number().nullish(),
        Log: z.array(z.looseObject({ Start: text, End: text, ExitCode: z.number().nullish(), Output: text })).nullish(),
      })
      .nullish(),
  }),
  RestartCount: z.number().nullish(),
  HostConfig: z.looseObject({
    NetworkMode: z.string(),
    NanoCpus: z.number().nullish(),
    CpuShares: z.number().nullish(),
    Memory: z.number().nullish(),
    MemorySwap: z.number().nullish(),
    PidsLimit: z.number().nullish(),
    RestartPolicy: z.looseObject({ Name: text, MaximumRetryCount: z.number().nullish() }).nullish(),
  }),
  Mounts: z
    .array(
      z.looseObject({ Type: z.string(), Name: text, Source: z.string(), Destination: z.string(), RW: z.boolean() }),
    )
    .nullish(),
  NetworkSettings: z.looseObject({
    Networks: z
      .record(
        z.string(),
        z.looseObject({
          NetworkID: z.string(),
          Aliases: z.array(z.string()).nullish(),
          Links: z.array(z.string()).nullish(),
          IPAddress: text,
          GlobalIPv6Address: text,
          MacAddress: text,
          IPAMConfig: z.looseObject({ IPv4Address: text, IPv6Address: text }).nullish(),
        }),
      )
      .nullish(),
  }),
});

export const inspectAnswer = answer('a container inspect document', inspectSchema);

type RawInspect = z.output<typeof inspectSchema>;

export function toDetails(c: RawInspect, raw: unknown): ContainerDetails {
  const name = c.Name.replace(/^\//, '');
  const shortId = c.Id.slice(0, 12);
  const networks: NetworkAttachment[] = Object.entries(c.NetworkSettings.Networks ?? {}).map(([network, n]) => ({
    network,
    networkId: n.NetworkID,
    // The engine adds the short container id as an alias on user networks; it comes back by itself.
    aliases: (n.Aliases ?? []).filter((alias) => alias !== shortId),
    ipv4: n.IPAMConfig?.IPv4Address || n.IPAddress || undefined,
    ipv6: n.IPAMConfig?.IPv6Address || n.GlobalIPv6Address || undefined,
    mac: n.MacAddress || undefined,
    fixedAddress: Boolean(n.IPAMConfig?.IPv4Address || n.IPAMConfig?.IPv6Address),
    links: n.Links ?? undefined,
  }));
  const state: ContainerState = {
    status: c.State.Status,
    running: c.State.Running,
    paused: c.State.Paused,
    restarting: c.State.Restarting,
    exitCode: c.State.ExitCode,
    health: c.State.Health?.Status,
    healthLog: (c.State.Health?.Log ?? []).map((entry) => ({
      start: entry.Start ?? '',
      end: entry.End ?? '',
      exitCode: entry.ExitCode ?? -1,
      output: entry.Output ?? '',
    })),
    restartCount: c.RestartCount ?? 0,
    startedAt: c.State.StartedAt ?? undefined,
    finishedAt: c.State.FinishedAt ?? undefined,
    oomKilled: c.State.OOMKilled,
  };
  const test = c.Config.Healthcheck?.Test ?? [];
  return {
    id: c.Id,
    name,
    image: c.Config.Image,
    imageId: c.Image,
    labels: c.Config.Labels ?? {},
    state,
    networks,
    networkMode: c.HostConfig.NetworkMode,
    limits: {
      nanoCpus: c.HostConfig.NanoCpus ?? 0,
      cpuShares: c.HostConfig.CpuShares ?? 0,
      memory: c.HostConfig.Memory ?? 0,
      memorySwap: c.HostConfig.MemorySwap ?? 0,
      pidsLimit: c.HostConfig.PidsLimit ?? 0,
    },
    hasHealthcheck: test.length > 0 && test[0] !== 'NONE',
    tty: c.Config.Tty ?? false,
    mounts: (c.Mounts ?? []).map((m): Mount => ({
      type: m.Type,
      name: m.Name || undefined,
      source: m.Source,
      destination: m.Destination,
      readOnly: !m.RW,
    })),
    // An empty name is what the engine stores for "no".
    restartPolicy: {
      name: c.HostConfig.RestartPolicy?.Name || 'no',
      maximumRetryCount: c.HostConfig.RestartPolicy?.MaximumRetryCount ?? 0,
    },
    raw,
  };
}
