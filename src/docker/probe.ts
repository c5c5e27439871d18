import type Dockerode from 'dockerode';
import { z } from 'zod';
import { signalOption, type Call } from './client.js';
import { answer } from './shape.js';

/**
 * What `firebreak doctor` asks of an engine beyond what playbooks ask: which product answers, and
 * throwaway objects (an internal network, a container) to try the permissions a playbook needs on
 * something nobody cares about. Everything it creates carries the caller's labels, so a doctor
 * killed half-way leaves objects that can be found and removed by label.
 */
export interface EngineProduct {
  /** "Docker", "Podman", or the platform's own name for anything else. */
  kind: string;
  version: string;
  apiVersion: string;
  os: string;
  arch: string;
}

const productAnswer = answer(
  'a Docker version document',
  z.looseObject({
    Version: z.string(),
    ApiVersion: z.string(),
    Os: z.string().nullish(),
    Arch: z.string().nullish(),
    Platform: z.looseObject({ Name: z.string().nullish() }).nullish(),
    Components: z.array(z.looseObject({ Name: z.string(), Version: z.string().nullish() })).nullish(),
  }),
);
const createdAnswer = answer('the id of a created object', z.looseObject({ Id: z.string().min(1) }));

const identifyDeadlineMs = 15_000;
/** Creating a network or container takes well under a second; past this the engine is wedged. */
const createDeadlineMs = 30_000;

export class ProbeClient {
  constructor(
    private readonly docker: Dockerode,
    private readonly call: Call,
  ) {}

  /**
   * The product behind the API. Podman's compatible API answers /version with a component named
   * "Podman Engine" and the Docker API version it emulates; Docker names "Engine" and its platform
   * "Docker Engine - Community" (or nothing, on older Debian builds).
   */
  async product(signal?: AbortSignal): Promise<EngineProduct> {
    const ask = { what: 'version', request: 'GET /version', signal, deadlineMs: identifyDeadlineMs };
    const { value } = await this.call.json(ask, productAnswer, (s) =>
      (this.docker as unknown as { version(o: object): Promise<unknown> }).version(signalOption(s)),
    );
    const names = [value.Platform?.Name ?? '', ...(value.Components ?? []).map((c) => c.Name)].join(' ');
    const kind = /podman/i.test(names)
      ? 'Podman'
      : /docker|^\s*Engine\b/i.test(names) || !value.Platform?.Name
        ? 'Docker'
        : value.Platform.Name;
    const podman = value.Components?.find((c) => /podman/i.test(c.Name));
    return {
      kind,
      version: kind === 'Podman' && podman?.Version ? podman.Version : value.Version,
      apiVersion: value.ApiVersion,
      os: value.Os ?? '',
      arch: value.Arch ?? '',
    };
  }

  /** An internal network (no route out), so the throwaway container can reach nothing. */
  async createNetwork(name: string, labels: Record<string, string>, signal?: AbortSignal): Promise<string> {
    const ask = {
      what: `create network ${name}`,
      request: 'POST /networks/create',
      signal,
      deadlineMs: createDeadlineMs,
    };
    const { value } = await this.call.json(ask, createdAnswer, async (s) => {
      const network = await this.docker.createNetwork({
        Name: name,
        Internal: true,
        CheckDuplicate: true,
        Labels: labels,
        ...signalOption(s),
      });
      return { Id: network.id };
    });
    return value.Id;
  }

  /**
   * A container that sleeps on `network`: `sleep` as its entrypoint, since the image's own command
   * may be a server that needs what the container is denied, or may exit at once.
   */
  async createContainer(
    spec: { name: string; image: string; network: string; labels: Record<string, string> },
    signal?: AbortSignal,
  ): Promise<string> {
    const ask = {
      what: `create container ${spec.name}`,
      request: 'POST /containers/create',
      signal,
      deadlineMs: createDeadlineMs,
    };
    const { value } = await this.call.json(ask, createdAnswer, async (s) => {
      const container = await this.docker.createContainer({
        name: spec.name,
        Image: spec.image,
        Entrypoint: ['sleep'],
        Cmd: ['300'],
        Labels: spec.labels,
        HostConfig: { NetworkMode: spec.network, AutoRemove: false },
        ...signalOption(s),
      } as Dockerode.ContainerCreateOptions);
      return { Id: container.id };
    });
    return value.Id;
  }

  async start(id: string, signal?: AbortSignal): Promise<void> {
    const ask = { what: `start ${id.slice(0, 12)}`, request: `POST /containers/${id.slice(0, 12)}/start`, signal };
    await this.call.run(ask, (s) => this.docker.getContainer(id).start(signalOption(s)));
  }

  /** Force: the container may be running or paused; its anonymous volumes go with it. */
  async removeContainer(id: string, signal?: AbortSignal): Promise<void> {
    const ask = { what: `remove ${id.slice(0, 12)}`, request: `DELETE /containers/${id.slice(0, 12)}`, signal };
    await this.call.run(ask, (s) => this.docker.getContainer(id).remove({ force: true, v: true, ...signalOption(s) }));
  }

  async removeNetwork(id: string, signal?: AbortSignal): Promise<void> {
    const ask = { what: `remove network ${id.slice(0, 12)}`, request: `DELETE /networks/${id.slice(0, 12)}`, signal };
    await this.call.run(ask, (s) => this.docker.getNetwork(id).remove(signalOption(s)));
  }
}
