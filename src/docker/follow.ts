/**
 * The engine's live event stream (GET /events without `until`), as our own small events. The
 * stream is NDJSON, but nothing promises that a chunk holds whole lines: a line can arrive in two
 * chunks and a chunk can hold several lines, so lines are cut here, and each one is checked for
 * the fields firebreak reads before anything above sees it. A line that is not an event is
 * reported and passed over; one bad line must not blind a watcher for good.
 *
 * The stream of a following request never ends on its own. When it does (the engine shut down)
 * or breaks (it crashed, the connection was cut), the iterator fails with an
 * EngineUnreachableError that says so, and the caller reconnects. Only the caller's signal ends
 * it quietly.
 */
import type Dockerode from 'dockerode';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { EngineUnreachableError } from '../errors.js';
import { signalOption, type Call } from './client.js';
import { checkAnswer, answer } from './shape.js';

/** What a watcher follows; the engine matches `health_status` against `health_status: unhealthy`. */
export const followedActions = ['health_status', 'die', 'oom', 'kill', 'stop', 'start', 'restart'] as const;
export type FollowedAction = (typeof followedActions)[number];

/** One container event from the live stream. */
export interface LiveEvent {
  /** The container's full id. */
  container: string;
  /** Its name, without the leading slash (from the event's attributes). */
  name: string;
  action: FollowedAction;
  /** For health_status: healthy, unhealthy or starting. */
  health?: string;
  /** For die: the exit code. */
  exitCode?: number;
  /** For kill: the signal number (or name) sent. */
  signal?: string;
  /** The container's labels, as the engine attaches them to every container event. */
  labels: Record<string, string>;
  /** The engine's clock, exact: seconds.nanoseconds, as `since=` takes it. */
  time: string;
  /** The engine's clock in milliseconds since the epoch. */
  at: number;
  /** Same key, same event: what a replay after a reconnect (since= is inclusive) repeats. */
  key: string;
}

const eventLine = answer(
  'a container event',
  z.looseObject({
    Type: z.string().nullish(),
    Action: z.string(),
    timeNano: z.number(),
    Actor: z.looseObject({ ID: z.string().min(1), Attributes: z.record(z.string(), z.string()).nullish() }),
  }),
);

/** Attributes the engine adds beside the labels. */
const notLabels = new Set(['name', 'image', 'exitCode', 'signal', 'execDuration']);

export interface FollowOptions {
  /** Replay from here (seconds.nanoseconds, inclusive), then follow. */
  since?: string;
  /** Engine-side label filters, K or K=V. */
  labels?: readonly string[];
  signal: AbortSignal;
  /** Told each line passed over, with why. */
  onBadLine?: (problem: string) => void;
}

export class EventFeed {
  constructor(
    private readonly docker: Dockerode,
    private readonly call: Call,
  ) {}

  /**
   * Connects; resolves once the engine has answered (it sends its headers at once, before any
   * event), with the events as they come. A refused connection rejects here; a stream that
   * breaks later fails the iteration.
   */
  async follow(options: FollowOptions): Promise<AsyncGenerator<LiveEvent>> {
    const filters: Record<string, string[]> = { type: ['container'], event: [...followedActions] };
    if (options.labels?.length) filters.label = [...options.labels];
    const stream = await this.call.run({ what: 'follow events', request: 'GET /events', signal: options.signal }, (s) =>
      this.docker.getEvents({
        ...(options.since ? { since: options.since } : {}),
        filters: JSON.stringify(filters),
        ...signalOption(s),
      } as object),
    );
    const answerStream = stream as unknown as Readable;
    // docker-modem gives a streamed answer no abort of its own once the headers are in. Set here,
    // not in the generator: an abort must end the answer even when nobody has started reading it.
    const stop = () => answerStream.destroy();
    options.signal.addEventListener('abort', stop, { once: true });
    return this.lines(answerStream, options, stop);
  }

  private async *lines(answerStream: Readable, options: FollowOptions, stop: () => void): AsyncGenerator<LiveEvent> {
    const request = 'GET /events';
    let rest = '';
    try {
      for await (const chunk of answerStream) {
        rest += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
        let newline: number;
        while ((newline = rest.indexOf('\n')) >= 0) {
          const line = rest.slice(0, newline).trim();
          rest = rest.slice(newline + 1);
          if (!line) continue;
          const event = this.read(line, request, options.onBadLine);
          if (event) yield event;
        }
        // A line longer than any event: whatever sends it is not following the protocol.
        if (rest.length > 1024 * 1024) {
          options.onBadLine?.(`${request} sent a line of over 1 MiB without an end; dropped`);
          rest = '';
        }
      }
    } catch (error) {
      if (options.signal.aborted) return;
      const why = (error as NodeJS.ErrnoException)?.code ?? (error as Error)?.message ?? String(error);
      throw new EngineUnreachableError(
        `the Docker engine at ${this.call.endpoint.label} broke off the event stream (${why})`,
        { cause: error },
      );
    } finally {
      options.signal.removeEventListener('abort', stop);
      answerStream.destroy();
    }
    if (options.signal.aborted) return;
    throw new EngineUnreachableError(`the Docker engine at ${this.call.endpoint.label} ended the event stream`);
  }

  private read(line: string, request: string, onBadLine?: (problem: string) => void): LiveEvent | undefined {
    let value: z.output<typeof eventLine.schema>;
    try {
      value = checkAnswer(eventLine, line, request, this.call.endpoint.label).value;
    } catch (error) {
      onBadLine?.((error as Error).message);
      return undefined;
    }
    // Type is absent from old engines' events; the filter asked for containers only.
    if (value.Type && value.Type !== 'container') return undefined;
    const [verb, detail] = splitAction(value.Action);
    if (!(followedActions as readonly string[]).includes(verb)) return undefined;
    const attributes = value.Actor.Attributes ?? {};
    // JSON numbers lose the last digits of a nanosecond clock; the text keeps them, for since= and the key.
    const nanos = /"timeNano"\s*:\s*(\d+)/.exec(line)?.[1] ?? String(value.timeNano);
    const time = `${nanos.slice(0, -9) || '0'}.${nanos.slice(-9).padStart(9, '0')}`;
    const exitCode = attributes.exitCode !== undefined ? Number(attributes.exitCode) : undefined;
    return {
      container: value.Actor.ID,
      name: (attributes.name ?? value.Actor.ID.slice(0, 12)).replace(/^\//, ''),
      action: verb as FollowedAction,
      ...(verb === 'health_status' && detail ? { health: detail } : {}),
      ...(exitCode !== undefined && Number.isFinite(exitCode) ? { exitCode } : {}),
      ...(attributes.signal !== undefined ? { signal: attributes.signal } : {}),
      labels: Object.fromEntries(Object.entries(attributes).filter(([key]) => !notLabels.has(key))),
      time,
      at: Math.floor(value.timeNano / 1e6),
      key: `${value.Actor.ID}|${value.Action}|${nanos}`,
    };
  }
}

/** "health_status: unhealthy" -> ["health_status", "unhealthy"]; "die" -> ["die", undefined]. */
function splitAction(action: string): [string, string | undefined] {
  const colon = action.indexOf(':');
  return colon < 0 ? [action.trim(), undefined] : [action.slice(0, colon).trim(), action.slice(colon + 1).trim()];
}
