import { randomInt } from 'node:crypto';
import type Dockerode from 'dockerode';
import { z } from 'zod';
import { EngineError } from '../errors.js';
import { shortRef, signalOption, type Ask, type Call } from './client.js';
import { answer, checkAnswer } from './shape.js';
import type { RestartPolicy } from './types.js';

/**
 * Creating and removing the sacrificial containers and networks of a drill. Everything made here
 * carries the caller's labels, so it can be found and removed again by label alone.
 */

export interface LabNetworkSpec {
  name: string;
  labels: Record<string, string>;
  /** Give the network a subnet of its own, so that a container can be given a fixed address on it. */
  ownSubnet: boolean;
}

export interface LabAttachment {
  network: string;
  aliases: string[];
  ipv4?: string;
}

export interface LabHealthcheck {
  test: string[];
  intervalMs: number;
  timeoutMs: number;
  retries: number;
}

export interface LabContainerSpec {
  name: string;
  image: string;
  /** Replaces the image's own (doctor sleeps, whatever server the image would start). */
  entrypoint?: string[];
  command?: string[];
  labels: Record<string, string>;
  restart?: RestartPolicy;
  healthcheck?: LabHealthcheck;
  /** The first network is the container's own; the others are connected before it starts. */
  networks: LabAttachment[];
}

const createdAnswer = answer('the id of what was created', z.looseObject({ Id: z.string().min(1) }));
const networkListAnswer = answer('a list of networks', z.array(z.looseObject({ Id: z.string(), Name: z.string() })));

/** Subnet attempts before giving up: each picks at random among 16384 /24s, so a clash twice is rare. */
const subnetAttempts = 6;

export class LabClient {
  constructor(
    private readonly docker: Dockerode,
    private readonly call: Call,
  ) {}

  /** An internal network (no route out); returns its id and, when it has its own, the subnet. */
  async createNetwork(spec: LabNetworkSpec, signal?: AbortSignal): Promise<{ id: string; subnet?: string }> {
    for (let attempt = 1; ; attempt++) {
      const subnet = spec.ownSubnet ? randomSubnet() : undefined;
      const ask = { what: `create network ${spec.name}`, request: 'POST /networks/create', signal };
      try {
        const value = await this.created(ask, (s) =>
          this.docker.createNetwork({
            Name: spec.name,
            Internal: true,
            CheckDuplicate: true,
            Labels: spec.labels,
            ...(subnet ? { IPAM: { Driver: 'default', Config: [{ Subnet: subnet }] } } : {}),
            ...signalOption(s),
          } as Dockerode.NetworkCreateOptions),
        );
        return { id: value.Id, ...(subnet ? { subnet } : {}) };
      } catch (error) {
        // A subnet another network holds: another pick, a few times.
        const overlap = error instanceof EngineError && /overlap/i.test(error.engineMessage);
        if (!subnet || !overlap || attempt >= subnetAttempts) throw error;
      }
    }
  }

  /** Created, connected to every network, not started. */
  async createContainer(spec: LabContainerSpec, signal?: AbortSignal): Promise<string> {
    const [first, ...others] = spec.networks;
    const ask = { what: `create container ${spec.name}`, request: 'POST /containers/create', signal };
    const value = await this.created(ask, (s) =>
      this.docker.createContainer({
        name: spec.name,
        Image: spec.image,
        ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
        ...(spec.command ? { Cmd: spec.command } : {}),
        Labels: spec.labels,
        ...(spec.healthcheck ? { Healthcheck: healthcheckOf(spec.healthcheck) } : {}),
        HostConfig: {
          NetworkMode: first?.network ?? 'none',
          ...(spec.restart
            ? { RestartPolicy: { Name: spec.restart.name, MaximumRetryCount: spec.restart.maximumRetryCount } }
            : {}),
        },
        // API 1.41 takes one endpoint at create; the others are connected below.
        ...(first ? { NetworkingConfig: { EndpointsConfig: { [first.network]: endpointOf(first) } } } : {}),
        ...signalOption(s),
      } as Dockerode.ContainerCreateOptions),
    );
    for (const attachment of others) {
      const connect = {
        what: `connect ${spec.name} to ${attachment.network}`,
        request: `POST /networks/${attachment.network}/connect`,
        signal,
      };
      await this.call.run(connect, (s) =>
        this.docker.getNetwork(attachment.network).connect({
          Container: value.Id,
          EndpointConfig: endpointOf(attachment),
          ...signalOption(s),
        }),
      );
    }
    return value.Id;
  }

  /** dockerode answers a create with its own handle object; the id on it is what the engine sent. */
  private async created(
    ask: Ask,
    create: (signal: AbortSignal | undefined) => Promise<{ id?: unknown }>,
  ): Promise<{ Id: string }> {
    const handle = await this.call.run(ask, create);
    return checkAnswer(createdAnswer, { Id: handle.id }, ask.request ?? ask.what).value;
  }

  async networkIds(filters: Record<string, string[]>, signal?: AbortSignal): Promise<string[]> {
    const ask = { what: 'list networks', request: 'GET /networks', signal, deadlineMs: 30_000 };
    const { value } = await this.call.json(ask, networkListAnswer, (s) =>
      this.docker.listNetworks({ filters: JSON.stringify(filters), ...signalOption(s) } as object),
    );
    return value.map((n) => n.Id);
  }

  /** Forced, with anonymous volumes; one already gone is no error. */
  async removeContainer(id: string, signal?: AbortSignal): Promise<void> {
    const ask = { what: `remove container ${shortRef(id)}`, request: `DELETE /containers/${shortRef(id)}`, signal };
    await gone(
      this.call.run(ask, (s) => this.docker.getContainer(id).remove({ force: true, v: true, ...signalOption(s) })),
    );
  }

  async removeNetwork(id: string, signal?: AbortSignal): Promise<void> {
    const ask = { what: `remove network ${shortRef(id)}`, request: `DELETE /networks/${shortRef(id)}`, signal };
    await gone(this.call.run(ask, (s) => this.docker.getNetwork(id).remove(signalOption(s))));
  }

  /** Forced: every tag goes with it. */
  async removeImage(id: string, signal?: AbortSignal): Promise<void> {
    const ask = { what: `remove image ${shortRef(id)}`, request: `DELETE /images/${shortRef(id)}`, signal };
    await gone(this.call.run(ask, (s) => this.docker.getImage(id).remove({ force: true, ...signalOption(s) })));
  }
}

async function gone(removal: Promise<unknown>): Promise<void> {
  try {
    await removal;
  } catch (error) {
    if (!(error instanceof EngineError && error.notFound)) throw error;
  }
}

function endpointOf(attachment: LabAttachment): object {
  return {
    Aliases: attachment.aliases,
    ...(attachment.ipv4 ? { IPAMConfig: { IPv4Address: attachment.ipv4 } } : {}),
  };
}

/** The API counts healthcheck times in nanoseconds. */
function healthcheckOf(check: LabHealthcheck): object {
  return {
    Test: check.test,
    Interval: check.intervalMs * 1e6,
    Timeout: check.timeoutMs * 1e6,
    Retries: check.retries,
  };
}

/** A /24 in 10.128.0.0/9, away from the ranges engines and clouds hand out by default. */
function randomSubnet(): string {
  return `10.${randomInt(128, 256)}.${randomInt(0, 256)}.0/24`;
}
