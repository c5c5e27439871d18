import type Dockerode from 'dockerode';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { shortRef, signalOption, type Ask, type Call } from './client.js';
import { EventClient } from './events.js';
import { inspectAnswer, toDetails } from './inspect.js';
import { answer, checkAnswer } from './shape.js';
import { checkedStream } from './stream.js';
import type { ContainerDetails, FileChange, Limits, PathStat, RestartPolicy } from './types.js';

export interface ContainerSummary {
  id: string;
  names: string[];
  image: string;
  imageId: string;
  state: string;
  labels: Record<string, string>;
}

/** The processes of a container as `ps -ef` on the host lists them; `raw` is the engine's document, for the bundle. */
export interface ProcessList {
  titles: string[];
  processes: string[][];
  raw: unknown;
}

/** One resource-usage sample: the fields firebreak reads, and the engine's document for the bundle. */
export interface StatsSample {
  /** When it was taken; a stopped container answers with year 1. */
  read?: string;
  memoryUsage?: number;
  pids?: number;
  raw: unknown;
}

const listAnswer = answer(
  'a list of containers',
  z.array(
    z.looseObject({
      Id: z.string(),
      Names: z.array(z.string()).nullish(),
      Image: z.string(),
      ImageID: z.string().nullish(),
      State: z.string(),
      Labels: z.record(z.string(), z.string()).nullish(),
    }),
  ),
);
// Processes is null, not [], when the engine found none.
const topAnswer = answer(
  'a process list',
  z.looseObject({ Titles: z.array(z.string()), Processes: z.array(z.array(z.string())).nullable() }),
);
const statsAnswer = answer(
  'a stats sample',
  z.looseObject({
    read: z.string().optional(),
    memory_stats: z.looseObject({ usage: z.number().optional() }).nullish(),
    pids_stats: z.looseObject({ current: z.number().optional() }).nullish(),
  }),
);
// The engine answers `null` for a container that changed nothing: the API's empty list.
const changesAnswer = answer('a list of changes', z.array(z.looseObject({ Path: z.string(), Kind: z.number() })), []);
// Warnings is null when there are none. The update has already happened when the answer comes,
// and the status said so: an empty body means no warnings, not a failed update.
const updateAnswer = answer('an update result', z.looseObject({ Warnings: z.array(z.string()).nullish() }), {});
const commitAnswer = answer('the id of the committed image', z.looseObject({ Id: z.string().min(1) }));
const pathStatAnswer = answer(
  'a path stat',
  z.looseObject({ name: z.string(), size: z.number(), mode: z.number(), mtime: z.string(), linkTarget: z.string() }),
);

/** The engine answers lists in milliseconds: past this it is wedged (see Ask.deadlineMs). */
const listDeadlineMs = 30_000;

/** Container operations, in our own types. */
export class ContainerClient {
  constructor(
    private readonly docker: Dockerode,
    private readonly call: Call,
  ) {}

  private ask(what: string, id: string, request: string, signal?: AbortSignal): Ask {
    return { what: `${what} ${shortRef(id)}`, request: request.replace('{id}', shortRef(id)), signal };
  }

  private container(id: string) {
    return this.docker.getContainer(id);
  }

  async inspect(id: string, signal?: AbortSignal): Promise<ContainerDetails> {
    const { value, raw } = await this.call.json(
      this.ask('inspect', id, 'GET /containers/{id}/json', signal),
      inspectAnswer,
      (s) => this.container(id).inspect(signalOption(s)),
    );
    return toDetails(value, raw);
  }

  async list(filters: Record<string, string[]> = {}, all = true, signal?: AbortSignal): Promise<ContainerSummary[]> {
    const ask = { what: 'list containers', request: 'GET /containers/json', signal, deadlineMs: listDeadlineMs };
    const { value: rows } = await this.call.json(ask, listAnswer, (s) =>
      this.docker.listContainers({ all, filters: JSON.stringify(filters), ...signalOption(s) } as object),
    );
    return rows.map((row) => ({
      id: row.Id,
      names: (row.Names ?? []).map((n) => n.replace(/^\//, '')),
      image: row.Image,
      imageId: row.ImageID ?? '',
      state: row.State,
      labels: row.Labels ?? {},
    }));
  }

  async top(id: string, signal?: AbortSignal): Promise<ProcessList> {
    const { value, raw } = await this.call.json(
      this.ask('top', id, 'GET /containers/{id}/top', signal),
      topAnswer,
      (s) => this.container(id).top({ ps_args: '-ef', ...signalOption(s) } as object),
    );
    return { titles: value.Titles, processes: value.Processes ?? [], raw };
  }

  /** One sample, without the engine's one-second wait for a second reading (API one-shot). */
  async stats(id: string, signal?: AbortSignal): Promise<StatsSample> {
    const { value, raw } = await this.call.json(
      this.ask('stats', id, 'GET /containers/{id}/stats', signal),
      statsAnswer,
      (s) =>
        (this.container(id) as unknown as { stats(o: object): Promise<unknown> }).stats({
          stream: false,
          'one-shot': true,
          ...signalOption(s),
        }),
    );
    return { read: value.read, memoryUsage: value.memory_stats?.usage, pids: value.pids_stats?.current, raw };
  }

  /** The writable layer's changes; the engine lists a changed directory as well as what changed in it. */
  async diff(id: string, signal?: AbortSignal): Promise<FileChange[]> {
    const { value: rows } = await this.call.json(
      this.ask('diff', id, 'GET /containers/{id}/changes', signal),
      changesAnswer,
      (s) => this.container(id).changes(signalOption(s)),
    );
    // The Engine API numbers the kinds: 0 modified, 1 added, 2 deleted.
    return rows.map((row) => ({ path: row.Path, kind: changeKinds[row.Kind] ?? 'changed' }));
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
    const ask = this.ask('logs', id, 'GET /containers/{id}/logs', signal);
    const stream = await this.call.run(
      ask,
      (s) =>
        new Promise<Readable>((resolve, reject) => {
          this.docker.modem.dial(
            {
              path: `/containers/${encodeURIComponent(id)}/logs?`,
              method: 'GET',
              isStream: true,
              abortSignal: s,
              statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
              options: query,
            } as never,
            (error: unknown, stream: unknown) => (error ? reject(error) : resolve(stream as Readable)),
          );
        }),
    );
    return this.checked(stream, ask);
  }

  /** The whole filesystem as a tar; the stream fails, rather than ends, if the engine cuts it short (see stream.ts). */
  async export(id: string, signal?: AbortSignal): Promise<Readable> {
    const ask = this.ask('export', id, 'GET /containers/{id}/export', signal);
    const stream = await this.call.run(ask, async (s) => {
      const container = this.container(id) as unknown as { export(opts: object): Promise<Readable> };
      return container.export(signalOption(s));
    });
    return this.checked(stream, ask, { tar: true });
  }

  /** A streamed answer that fails with the engine's name when it is cut off (stream.ts). */
  private checked(stream: Readable, ask: Ask, opts: { tar?: boolean } = {}): Readable {
    return checkedStream(stream, {
      request: ask.request ?? ask.what,
      endpoint: this.call.endpoint.label,
      signal: ask.signal,
      ...opts,
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
    const ask = {
      what: `archive ${path} from ${shortRef(id)}`,
      request: `GET /containers/${shortRef(id)}/archive?path=${path}`,
      signal,
    };
    return this.call.run(ask, async (s) => {
      const stream = (await this.container(id).getArchive({
        path,
        ...signalOption(s),
      } as never)) as unknown as Readable;
      const header = (stream as unknown as IncomingMessage).headers?.['x-docker-container-path-stat'];
      try {
        return {
          stat: parsePathStat(typeof header === 'string' ? header : undefined, path, ask.request),
          stream: this.checked(stream, ask, { tar: true }),
        };
      } catch (error) {
        stream.destroy();
        throw error;
      }
    });
  }

  async pause(id: string, signal?: AbortSignal): Promise<void> {
    await this.call.run(this.ask('pause', id, 'POST /containers/{id}/pause', signal), (s) =>
      this.container(id).pause(signalOption(s)),
    );
  }

  async unpause(id: string, signal?: AbortSignal): Promise<void> {
    await this.call.run(this.ask('unpause', id, 'POST /containers/{id}/unpause', signal), (s) =>
      this.container(id).unpause(signalOption(s)),
    );
  }

  /** SIGTERM, then SIGKILL after `graceSeconds` (the engine does the waiting). */
  async stop(id: string, graceSeconds: number, signal?: AbortSignal): Promise<void> {
    await this.call.run(this.ask('stop', id, 'POST /containers/{id}/stop', signal), (s) =>
      this.container(id).stop({ t: graceSeconds, ...signalOption(s) } as object),
    );
  }

  async start(id: string, signal?: AbortSignal): Promise<void> {
    await this.call.run(this.ask('start', id, 'POST /containers/{id}/start', signal), (s) =>
      this.container(id).start(signalOption(s)),
    );
  }

  async restart(id: string, graceSeconds: number, signal?: AbortSignal): Promise<void> {
    await this.call.run(this.ask('restart', id, 'POST /containers/{id}/restart', signal), (s) =>
      this.container(id).restart({ t: graceSeconds, ...signalOption(s) } as object),
    );
  }

  /**
   * The container's recent deaths with their exit codes, oldest first, from the engine's event log.
   * Inspect keeps only the last exit code, and a crash-looping container caught in its running
   * window shows 0 there; the engine remembers its last 256 events (any container), so this is recent history.
   */
  async deaths(id: string, signal?: AbortSignal): Promise<Array<{ at: string; exitCode: number }>> {
    const events = await new EventClient(this.docker, this.call).ofContainer(id, { actions: ['die'] }, signal);
    return events.map((event) => ({
      at: new Date(event.at).toISOString(),
      exitCode: Number(event.attributes.exitCode ?? -1),
    }));
  }

  async update(id: string, limits: Partial<Limits>, signal?: AbortSignal): Promise<string[]> {
    const body: Record<string, number> = {};
    if (limits.nanoCpus !== undefined) body.NanoCpus = limits.nanoCpus;
    if (limits.cpuShares !== undefined) body.CpuShares = limits.cpuShares;
    if (limits.memory !== undefined) body.Memory = limits.memory;
    if (limits.memorySwap !== undefined) body.MemorySwap = limits.memorySwap;
    if (limits.pidsLimit !== undefined) body.PidsLimit = limits.pidsLimit;
    const { value } = await this.call.json(
      this.ask('update', id, 'POST /containers/{id}/update', signal),
      updateAnswer,
      (s) => this.container(id).update({ ...body, ...signalOption(s) }),
    );
    return (value.Warnings ?? []).filter(Boolean);
  }

  async setRestartPolicy(id: string, policy: RestartPolicy, signal?: AbortSignal): Promise<void> {
    const ask = this.ask('update restart policy of', id, 'POST /containers/{id}/update', signal);
    await this.call.json(ask, updateAnswer, (s) =>
      this.container(id).update({
        RestartPolicy: { Name: policy.name, MaximumRetryCount: policy.maximumRetryCount },
        ...signalOption(s),
      }),
    );
  }

  async commit(
    id: string,
    options: { repo?: string; tag?: string; comment?: string; labels?: Record<string, string>; pause?: boolean },
    signal?: AbortSignal,
  ): Promise<string> {
    const { value } = await this.call.json(
      this.ask('commit', id, 'POST /commit?container={id}', signal),
      commitAnswer,
      (s) =>
        this.container(id).commit({
          repo: options.repo,
          tag: options.tag,
          comment: options.comment,
          pause: options.pause ?? true,
          changes: Object.entries(options.labels ?? {}).map(
            ([k, v]) => `LABEL ${JSON.stringify(k)}=${JSON.stringify(v)}`,
          ),
          ...signalOption(s),
        } as object),
    );
    return value.Id;
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

function parsePathStat(header: string | undefined, path: string, request: string): PathStat {
  if (!header)
    return { name: path.split('/').pop() ?? path, size: 0, mode: 0, mtime: '', linkTarget: '', type: 'other' };
  const text = Buffer.from(header, 'base64').toString('utf8');
  const { value } = checkAnswer(pathStatAnswer, text, `${request} (its X-Docker-Container-Path-Stat header)`);
  const { name, size, mode, mtime, linkTarget } = value;
  return { name, size, mode, mtime, linkTarget, type: fileTypeOf(mode) };
}
