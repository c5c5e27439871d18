import type { ContainerDetails, ContainerState, Mount, NetworkAttachment } from './types.js';

/** The Engine API's inspect document, reduced to our own ContainerDetails; the raw document rides along for the bundle. */

interface RawInspect {
  Id: string;
  Name: string;
  Image: string;
  Config: { Image: string; Tty?: boolean; Labels?: Record<string, string> | null; Healthcheck?: { Test?: string[] } };
  State: {
    Status: string;
    Running: boolean;
    Paused: boolean;
    Restarting: boolean;
    ExitCode: number;
    OOMKilled: boolean;
    StartedAt?: string;
    FinishedAt?: string;
    Health?: { Status: string };
  };
  RestartCount: number;
  HostConfig: {
    NetworkMode: string;
    NanoCpus?: number;
    CpuShares?: number;
    Memory?: number;
    MemorySwap?: number;
    PidsLimit?: number | null;
    RestartPolicy?: { Name?: string; MaximumRetryCount?: number };
  };
  Mounts?: Array<{ Type: string; Name?: string; Source: string; Destination: string; RW: boolean }> | null;
  NetworkSettings: {
    Networks?: Record<
      string,
      {
        NetworkID: string;
        Aliases?: string[] | null;
        Links?: string[] | null;
        IPAddress?: string;
        GlobalIPv6Address?: string;
        MacAddress?: string;
        IPAMConfig?: { IPv4Address?: string; IPv6Address?: string } | null;
      }
    >;
  };
}

export function toDetails(raw: unknown): ContainerDetails {
  const c = raw as RawInspect;
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
    restartCount: c.RestartCount,
    startedAt: c.State.StartedAt,
    finishedAt: c.State.FinishedAt,
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
    mounts: (c.Mounts ?? []).map(
      (m): Mount => ({ type: m.Type, name: m.Name || undefined, source: m.Source, destination: m.Destination, readOnly: !m.RW }),
    ),
    // An empty name is what the engine stores for "no".
    restartPolicy: { name: c.HostConfig.RestartPolicy?.Name || 'no', maximumRetryCount: c.HostConfig.RestartPolicy?.MaximumRetryCount ?? 0 },
    raw,
  };
}
