import type Dockerode from 'dockerode';
import { addAbortSignal, type Readable } from 'node:stream';
import { z } from 'zod';
import { shortRef, signalOption, type Call } from './client.js';
import { answer, checkAnswer } from './shape.js';

/** One container event from the engine's log: what happened, when, and its attributes (exitCode, signal...). */
export interface ContainerEvent {
  action: string;
  /** Milliseconds since the epoch, from the engine's nanosecond clock. */
  at: number;
  timeNano: number;
  attributes: Record<string, string>;
}

const eventAnswer = answer(
  'an event',
  z.looseObject({
    timeNano: z.number(),
    Action: z.string().nullish(),
    status: z.string().nullish(),
    Actor: z.looseObject({ Attributes: z.record(z.string(), z.string()).nullish() }).nullish(),
  }),
);

/**
 * Past events of one container, read from GET /events with `until`, so the engine ends the stream
 * instead of following it. The engine keeps only its last 256 events (of any object), so an
 * answer is recent history, never the whole of it.
 */
export class EventClient {
  constructor(
    private readonly docker: Dockerode,
    private readonly call: Call,
  ) {}

  async ofContainer(
    id: string,
    options: { since?: Date; until?: Date; actions?: string[] } = {},
    signal?: AbortSignal,
  ): Promise<ContainerEvent[]> {
    const ask = { what: `events of ${shortRef(id)}`, request: 'GET /events', signal, deadlineMs: 30_000 };
    const filters: Record<string, string[]> = { type: ['container'], container: [id] };
    if (options.actions?.length) filters.event = options.actions;
    const lines = await this.call.run(ask, async (s) => {
      const stream = (await this.docker.getEvents({
        since: options.since ? seconds(options.since) : 0,
        until: seconds(options.until ?? new Date(Date.now() + 1000)),
        filters: JSON.stringify(filters),
        ...signalOption(s),
      } as object)) as unknown as Readable;
      // docker-modem gives a streamed answer no abort of its own once the headers are in.
      if (s) addAbortSignal(s, stream);
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks)
        .toString('utf8')
        .split('\n')
        .filter((line) => line.trim());
    });
    return lines
      .map((line) => checkAnswer(eventAnswer, line, ask.request, this.call.endpoint.label).value)
      .map((event) => ({
        action: event.Action ?? event.status ?? '',
        at: Math.floor(event.timeNano / 1e6),
        timeNano: event.timeNano,
        attributes: event.Actor?.Attributes ?? {},
      }))
      .sort((a, b) => a.timeNano - b.timeNano);
  }
}

/** The API's since/until: seconds since the epoch, with a fraction the engine reads as nanoseconds. */
function seconds(date: Date): string {
  return (date.getTime() / 1000).toFixed(3);
}
