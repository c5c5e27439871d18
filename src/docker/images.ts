import type Dockerode from 'dockerode';
import { z } from 'zod';
import { EngineError } from '../errors.js';
import { shortRef, signalOption, type Ask, type Call } from './client.js';
import { answer } from './shape.js';

export interface ImageSummary {
  id: string;
  tags: string[];
  labels: Record<string, string>;
  created: Date;
}

/** An image's inspect document: what firebreak reads, and the document itself for the bundle. */
export interface ImageDetails {
  id: string;
  /** RFC 3339 with nanoseconds, unlike the list's whole seconds. */
  created: string;
  raw: unknown;
}

/** An image's layer history; `raw` is the engine's list, for the bundle. */
export interface ImageHistory {
  entries: number;
  raw: unknown;
}

const inspectAnswer = answer('an image inspect document', z.looseObject({ Id: z.string(), Created: z.string() }));
const historyAnswer = answer('an image history', z.array(z.looseObject({ Id: z.string(), Created: z.number() })));
const listAnswer = answer(
  'a list of images',
  z.array(
    z.looseObject({
      Id: z.string(),
      RepoTags: z.array(z.string()).nullish(),
      Labels: z.record(z.string(), z.string()).nullish(),
      Created: z.number(),
    }),
  ),
);

const listDeadlineMs = 30_000;

export class ImageClient {
  constructor(
    private readonly docker: Dockerode,
    private readonly call: Call,
  ) {}

  // dockerode's image inspect and history do not pass the abort signal on: these dial the modem themselves.
  async inspect(image: string, signal?: AbortSignal): Promise<ImageDetails> {
    const { value, raw } = await this.call.json(this.ask(`inspect image`, image, '/json', signal), inspectAnswer, (s) =>
      this.call.dial(this.docker, { method: 'GET', path: `/images/${image}/json`, statusCodes: imageCodes }, s),
    );
    return { id: value.Id, created: value.Created, raw };
  }

  async history(image: string, signal?: AbortSignal): Promise<ImageHistory> {
    const { value, raw } = await this.call.json(
      this.ask('history of image', image, '/history', signal),
      historyAnswer,
      (s) =>
        this.call.dial(this.docker, { method: 'GET', path: `/images/${image}/history`, statusCodes: imageCodes }, s),
    );
    return { entries: value.length, raw };
  }

  async tag(image: string, repo: string, tag: string, signal?: AbortSignal): Promise<void> {
    const ask = {
      what: `tag ${shortRef(image)} as ${repo}:${tag}`,
      request: `POST /images/${shortRef(image)}/tag`,
      signal,
    };
    await this.call.run(ask, (s) => this.docker.getImage(image).tag({ repo, tag, ...signalOption(s) }));
  }

  /** Images matching Engine API filters (e.g. `label: ['firebreak.incident=INC-7']`), newest first. */
  async list(filters: Record<string, string[]>, signal?: AbortSignal): Promise<ImageSummary[]> {
    const ask = { what: 'list images', request: 'GET /images/json', signal, deadlineMs: listDeadlineMs };
    const { value: rows } = await this.call.json(ask, listAnswer, (s) =>
      this.docker.listImages({ filters: JSON.stringify(filters), ...signalOption(s) } as object),
    );
    return rows
      .map((row) => ({
        id: row.Id,
        tags: (row.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
        labels: row.Labels ?? {},
        created: new Date(row.Created * 1000),
      }))
      .sort((a, b) => b.created.getTime() - a.created.getTime());
  }

  /** The image id a reference points at now, or undefined when it names nothing. */
  async idOf(reference: string, signal?: AbortSignal): Promise<string | undefined> {
    try {
      return (await this.inspect(reference, signal)).id;
    } catch (error) {
      if (error instanceof EngineError && error.notFound) return undefined;
      throw error;
    }
  }

  private ask(what: string, image: string, suffix: string, signal?: AbortSignal): Ask {
    return { what: `${what} ${shortRef(image)}`, request: `GET /images/${shortRef(image)}${suffix}`, signal };
  }
}

/** As dockerode declares them: any other status is a failure with the engine's message. */
const imageCodes = { 200: true, 404: 'no such image', 500: 'server error' } as const;
