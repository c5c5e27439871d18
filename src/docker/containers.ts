import type Dockerode from 'dockerode';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { Call } from './client.js';
import { toDetails } from './inspect.js';
import type { ContainerDetails, FileChange, Limits, PathStat, RestartPolicy } from './types.js';

export interface ContainerSummary {
  id: string;
  names: string[];
  image: string;
  imageId: string;
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
      imageId: row.ImageID,
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

  /** The writable layer's changes; the engine lists a changed directory as well as what changed in it. */
  async diff(id: string, signal?: AbortSignal): Promise<FileChange[]> {
    const rows = (await this.call.run(`diff ${id}`, () =>
      this.docker.getContainer(id).changes({ abortSignal: signal } as object),
    )) as Array<{ Path: string; Kind: number }> | null;
    // The Engine API numbers the kinds: 0 modified, 1 added, 2 deleted.
    return (rows ?? []).map((row) => ({ path: row.Path, kind: changeKinds[row.Kind] ?? 'changed' }));
  }

  /**
   * The log stream up to now: multiplexed stdout/stderr frames (see demux.ts), or one plain stream
   * for a TTY container. dockerode buffers a log that does not follow whole in memory, so this
   * asks the engine through the modem for a stream instead.
   */
  async logs(
    id: string,
    options: { since?: Date; until?: Date; tail?: number | 'all'; timestamps?: boolean; follow?: boolean },
    signal?: AbortSignal,
  ): Promise<Readable> {
    const query = {
      stdout: true,
      stderr: true,
      follow: options.follow ?? false,
      timestamps: options.timestamps ?? true,
      tail: options.tail ?? 'all',
      ...(options.since ? { since: unixTimestamp(options.since) } : {}),
      ...(options.until ? { until: unixTimestamp(options.until) } : {}),
    };
    return this.call.run(`logs ${id}`, () =>
      new Promise<Readable>((resolve, reject) => {
        this.docker.modem.dial(
          {
            path: `/containers/${encodeURIComponent(id)}/logs?`,
            method: 'GET',
            isStream: true,
            abortSignal: signal,
            statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
            options: query,
          } as never,
          (error: unknown, stream: unknown) => (error ? reject(error) : resolve(stream as Readable)),
        );
      }),
    );
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
    return (await this.archiveWithStat(id, path, signal)).stream;
  }

  /**
   * A tar of one path with what the engine says the path is, known before the body is read, so
   * a caller can leave a directory or an oversized file unread (destroy the stream).
   */
  async archiveWithStat(id: string, path: string, signal?: AbortSignal): Promise<{ stat: PathStat; stream: Readable }> {
    return this.call.run(`archive ${path} from ${id}`, async () => {
      const stream = (await this.docker.getContainer(id).getArchive({ path, abortSignal: signal } as never)) as unknown as Readable;
      const header = (stream as unknown as IncomingMessage).headers?.['x-docker-container-path-stat'];
      return { stat: parsePathStat(typeof header === 'string' ? header : undefined, path), stream };
    });
  }

  async pause(id: string, signal?: AbortSignal): Promise<void> {
    await this.call.run(`pause ${id}`, () => this.docker.getContainer(id).pause({ abortSignal: signal } as object));
  }

  async unpause(id: string, signal?: AbortSignal): Promise<void> {
    await this.call.run(`unpause ${id}`, () => this.docker.getContainer(id).unpause({ abortSignal: signal } as object));
  }

  /** SIGTERM, then SIGKILL after `graceSeconds` (the engine does the waiting). */
  async stop(id: string, graceSeconds: number, signal?: AbortSignal): Promise<void> {
    await this.call.run(`stop ${id}`, () =>
      this.docker.getContainer(id).stop({ t: graceSeconds, abortSignal: signal } as object),
    );
  }

  async start(id: string): Promise<void> {
    await this.call.run(`start ${id}`, () => this.docker.getContainer(id).start());
  }

  async restart(id: string, graceSeconds: number, signal?: AbortSignal): Promise<void> {
    await this.call.run(`restart ${id}`, () =>
      this.docker.getContainer(id).restart({ t: graceSeconds, abortSignal: signal } as object),
    );
  }

  /**
   * The container's recent deaths with their exit codes, oldest first, from the engine's event log.
   * Inspect keeps only the last exit code, and a crash-looping container caught in its running
   * window shows 0 there; the engine remembers its last 256 events (any container), so this is recent history.
   */
  async deaths(id: string, signal?: AbortSignal): Promise<Array<{ at: string; exitCode: number }>> {
    return this.call.run(`events of ${id}`, async () => {
      const stream = (await this.docker.getEvents({
        since: 0,
        // With `until` the engine ends the stream instead of following it.
        until: Math.ceil(Date.now() / 1000),
        filters: JSON.stringify({ type: ['container'], container: [id], event: ['die'] }),
        abortSignal: signal,
      } as object)) as unknown as Readable;
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks)
        .toString('utf8')
        .split('\n')
        .filter((line) => line.trim())
        .map((line) => JSON.parse(line) as { timeNano: number; Actor?: { Attributes?: { exitCode?: string } } })
        .map((event) => ({ at: new Date(event.timeNano / 1e6).toISOString(), exitCode: Number(event.Actor?.Attributes?.exitCode ?? -1) }));
    });
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

  async setRestartPolicy(id: string, policy: RestartPolicy): Promise<void> {
    await this.call.run(`update restart policy of ${id}`, () =>
      this.docker.getContainer(id).update({ RestartPolicy: { Name: policy.name, MaximumRetryCount: policy.maximumRetryCount } }),
    );
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

}

const changeKinds: Record<number, FileChange['kind']> = { 0: 'changed', 1: 'added', 2: 'deleted' };

/** The API's `since`/`until`: seconds since the epoch, with a fraction the engine reads as nanoseconds. */
function unixTimestamp(date: Date): string {
  const ms = date.getTime();
  return `${Math.floor(ms / 1000)}.${String(((ms % 1000) + 1000) % 1000).padStart(3, '0')}`;
}

/**
 * The kind of file from Go's os.FileMode type bits: 31 directory, 27 symlink, 26 device,
 * 25 named pipe, 24 socket, 21 character device, 19 irregular. Read with arithmetic, because
 * bit 31 turns JavaScript's 32-bit bitwise operators negative.
 */
function fileTypeOf(mode: number): PathStat['type'] {
  const bit = (n: number) => Math.floor(mode / 2 ** n) % 2 === 1;
  if (bit(31)) return 'directory';
  if (bit(27)) return 'symlink';
  return [26, 25, 24, 21, 19].some(bit) ? 'other' : 'file';
}

function parsePathStat(header: string | undefined, path: string): PathStat {
  if (!header) return { name: path.split('/').pop() ?? path, size: 0, mode: 0, mtime: '', linkTarget: '', type: 'other' };
  const raw = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as Omit<PathStat, 'type'>;
  return { ...raw, type: fileTypeOf(raw.mode) };
}
