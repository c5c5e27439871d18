import type Dockerode from 'dockerode';
import type { Readable } from 'node:stream';
import type { Call } from './client.js';
import type { ContainerDetails, ContainerState, Limits, NetworkAttachment } from './types.js';

export interface ContainerSummary {
  id: string;
  names: string[];
  image: string;
  state: string;
  labels: Record<string, string>;
}

/** Container operations, in our own types. */
export class ContainerClient {
  constructor(
    private readonly docker: Dockerode,
    private readonly call: Call,
  ) {}

  async inspect(id: string, signal?: AbortSignal): Promise<ContainerDetails> {
    const raw = await this.call.run(`inspect ${id}`, () =>
      this.docker.getContainer(id).inspect({ abortSignal: signal } as object),
    );
    return toDetails(raw);
  }

  async list(filters: Record<string, string[]> = {}, all = true): Promise<ContainerSummary[]> {
    const rows = await this.call.run('list containers', () =>
      this.docker.listContainers({ all, filters: JSON.stringify(filters) }),
    );
    return rows.map((row) => ({
      id: row.Id,
      names: row.Names.map((n) => n.replace(/^\//, '')),
      image: row.Image,
      state: row.State,
      labels: row.Labels ?? {},
    }));
  }

  async top(id: string, signal?: AbortSignal): Promise<unknown> {
    return this.call.run(`top ${id}`, () =>
      this.docker.getContainer(id).top({ ps_args: '-ef', abortSignal: signal } as object),
    );
  }

  /** One sample, without the engine's one-second wait for a second reading (API one-shot). */
  async stats(id: string, signal?: AbortSignal): Promise<unknown> {
    return this.call.run(`stats ${id}`, () =>
      (this.docker.getContainer(id) as unknown as { stats(o: object): Promise<unknown> }).stats({
        stream: false,
        'one-shot': true,
        abortSignal: signal,
      }),
    );
  }

  async diff(id: string, signal?: AbortSignal): Promise<Array<{ Path: string; Kind: number }>> {
    const rows = await this.call.run(`diff ${id}`, () =>
      this.docker.getContainer(id).changes({ abortSignal: signal } as object),
    );
    return (rows ?? []) as Array<{ Path: string; Kind: number }>;
  }

  /** The raw multiplexed (or, for TTY containers, plain) log stream. */
  async logs(
    id: string,
    options: { since?: number; until?: number; tail?: number | 'all'; timestamps?: boolean },
    signal?: AbortSignal,
  ): Promise<Readable> {
    return this.call.run(`logs ${id}`, async () => {
      const stream = await this.docker.getContainer(id).logs({
        follow: true as const,
        stdout: true,
        stderr: true,
        timestamps: options.timestamps ?? true,
        since: options.since,
        until: options.until,
        tail: options.tail,
        abortSignal: signal,
      } as Dockerode.ContainerLogsOptions & { follow: true });
      return stream as unknown as Readable;
    });
  }

  async export(id: string, signal?: AbortSignal): Promise<Readable> {
    return this.call.run(`export ${id}`, async () => {
      const container = this.docker.getContainer(id) as unknown as {
        export(opts: object): Promise<Readable>;
      };
      return container.export({ abortSignal: signal });
    });
  }

  /** A tar of one path inside the container (the archive API). */
  async archive(id: string, path: string, signal?: AbortSignal): Promise<Readable> {
    return this.call.run(`archive ${path} from ${id}`, async () => {
      const stream = await this.docker.getContainer(id).getArchive({ path, abortSignal: signal } as never);
      return stream as unknown as Readable;
    });
  }

  async pause(id: string): Promise<void> {
    await this.call.run(`pause ${id}`, () => this.docker.getContainer(id).pause());
  }

  async unpause(id: string): Promise<void> {
    await this.call.run(`unpause ${id}`, () => this.docker.getContainer(id).unpause());
  }

  /** SIGTERM, then SIGKILL after `graceSeconds` (the engine does the waiting). */
  async stop(id: string, graceSeconds: number): Promise<void> {
    await this.call.run(`stop ${id}`, () => this.docker.getContainer(id).stop({ t: graceSeconds }));
  }

  async start(id: string): Promise<void> {
    await this.call.run(`start ${id}`, () => this.docker.getContainer(id).start());
  }

  async restart(id: string, graceSeconds: number): Promise<void> {
    await this.call.run(`restart ${id}`, () => this.docker.getContainer(id).restart({ t: graceSeconds }));
  }

  async update(id: string, limits: Partial<Limits>): Promise<string[]> {
    const body: Record<string, number> = {};
    if (limits.nanoCpus !== undefined) body.NanoCpus = limits.nanoCpus;
    if (limits.cpuShares !== undefined) body.CpuShares = limits.cpuShares;
    if (limits.memory !== undefined) body.Memory = limits.memory;
    if (limits.memorySwap !== undefined) body.MemorySwap = limits.memorySwap;
    if (limits.pidsLimit !== undefined) body.PidsLimit = limits.pidsLimit;
    const result = await this.call.run(`update ${id}`, () => this.docker.getContainer(id).update(body));
    return ((result as { Warnings?: string[] } | undefined)?.Warnings ?? []).filter(Boolean);
  }

  async commit(
    id: string,
    options: { repo?: string; tag?: string; comment?: string; labels?: Record<string, string>; pause?: boolean },
  ): Promise<string> {
    const result = await this.call.run(`commit ${id}`, () =>
      this.docker.getContainer(id).commit({
        repo: options.repo,
        tag: options.tag,
        comment: options.comment,
        pause: options.pause ?? true,
        changes: Object.entries(options.labels ?? {}).map(([k, v]) => `LABEL ${JSON.stringify(k)}=${JSON.stringify(v)}`),
      } as object),
    );
    return (result as { Id: string }).Id;
  }

  /** Run a command inside the container (no shell unless the argv asks for one) and return its exit code and output. */
  async exec(
    id: string,
    argv: string[],
    signal?: AbortSignal,
  ): Promise<{ exitCode: number; output: string }> {
    return this.call.run(`exec in ${id}`, async () => {
      const exec = await this.docker.getContainer(id).exec({
        Cmd: argv,
        AttachStdout: true,
        AttachStderr: true,
        Tty: true,
      });
      const stream = (await exec.start({ hijack: true, stdin: false, Tty: true } as object)) as Readable;
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of stream) {
        if (signal?.aborted) break;
        if (size < 64 * 1024) chunks.push(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
      const info = await exec.inspect();
      return { exitCode: info.ExitCode ?? -1, output: Buffer.concat(chunks).toString('utf8') };
    });
  }
}

interface RawInspect {
  Id: string;
  Name: string;
  Image: string;
  Config: { Image: string; Labels?: Record<string, string> | null; Healthcheck?: { Test?: string[] } };
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
  };
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

function toDetails(raw: unknown): ContainerDetails {
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
    raw,
  };
}
