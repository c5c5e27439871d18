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

const identifyDeadlineMs = 15_000;

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
}
