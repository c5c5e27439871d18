import type Dockerode from 'dockerode';
import { z } from 'zod';
import { EngineError } from '../errors.js';
import { signalOption, type Call } from './client.js';
import { notAnEngine } from './errors.js';
import { answer } from './shape.js';
import type { EngineIdentity, EngineVersion } from './types.js';

const versionAnswer = answer(
  'a Docker version document',
  z.looseObject({ Version: z.string(), ApiVersion: z.string(), Os: z.string().nullish(), Arch: z.string().nullish() }),
);
const infoAnswer = answer('a Docker info document', z.looseObject({ NCPU: z.number(), MemTotal: z.number() }));
const identityAnswer = answer(
  'a Docker info document',
  z.looseObject({ ID: z.string().nullish(), Name: z.string().nullish() }),
);

/** /version answers in milliseconds; it is also the first thing asked, so an address that swallows requests ends here. */
const identifyDeadlineMs = 15_000;

export class SystemClient {
  constructor(
    private readonly docker: Dockerode,
    private readonly call: Call,
  ) {}

  /**
   * Which engine answers. This is also how an address that answers HTTP but not the Engine API
   * is told apart: whatever it says to /version that is not a version document, it is not a Docker engine.
   */
  async version(signal?: AbortSignal): Promise<EngineVersion> {
    const ask = { what: 'version', request: 'GET /version', signal, deadlineMs: identifyDeadlineMs };
    try {
      const { value } = await this.call.json(ask, versionAnswer, (s) => this.withOptions().version(signalOption(s)));
      return { version: value.Version, apiVersion: value.ApiVersion, os: value.Os ?? '', arch: value.Arch ?? '' };
    } catch (error) {
      // Every Docker engine answers /version, with these fields; a 404 or another document comes from something else.
      if (error instanceof EngineError && (error.statusCode === undefined || error.statusCode === 404)) {
        const how =
          error.statusCode === 404
            ? `it answered HTTP 404 to GET /version: ${error.engineMessage}`
            : `it ${error.engineMessage.replace(/^GET \/version answered/, 'answered GET /version with')}`;
        throw notAnEngine(this.call.endpoint.label, how, error);
      }
      throw error;
    }
  }

  /** dockerode takes an options object here (and passes the signal on), though its types say only a callback. */
  private withOptions() {
    return this.docker as unknown as { version(o: object): Promise<unknown>; info(o: object): Promise<unknown> };
  }

  /**
   * The engine's own ID and host name from GET /info. Records and locks are keyed by this ID,
   * not by the address: two addresses may reach one engine, and one name may exist on two. An
   * engine that gives no ID (very old ones) is named by its host name.
   */
  async identity(signal?: AbortSignal): Promise<EngineIdentity> {
    const ask = { what: 'info', request: 'GET /info', signal, deadlineMs: identifyDeadlineMs };
    const { value } = await this.call.json(ask, identityAnswer, (s) => this.withOptions().info(signalOption(s)));
    return { id: value.ID || `name:${value.Name ?? 'unknown'}`, name: value.Name ?? '' };
  }

  /** What the host has: the most a container can use, and what "no limit" amounts to. */
  async capacity(signal?: AbortSignal): Promise<{ cpus: number; memory: number }> {
    const ask = { what: 'info', request: 'GET /info', signal, deadlineMs: identifyDeadlineMs };
    const { value } = await this.call.json(ask, infoAnswer, (s) => this.withOptions().info(signalOption(s)));
    return { cpus: value.NCPU, memory: value.MemTotal };
  }
}
