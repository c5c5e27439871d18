import { EngineError } from '../errors.js';
import type Dockerode from 'dockerode';
import { z } from 'zod';
import { shortRef, signalOption, type Call } from './client.js';
import { answer } from './shape.js';
import type { NetworkAttachment, NetworkDetails } from './types.js';

const inspectAnswer = answer(
  'a network inspect document',
  z.looseObject({
    Id: z.string(),
    Name: z.string(),
    Driver: z.string(),
    Internal: z.boolean().nullish(),
    IPAM: z.looseObject({ Config: z.array(z.looseObject({ Subnet: z.string().nullish() })).nullish() }).nullish(),
  }),
);

export class NetworkClient {
  constructor(
    private readonly docker: Dockerode,
    private readonly call: Call,
  ) {}

  // dockerode's network inspect does not pass the abort signal on: this dials the modem itself.
  async inspect(idOrName: string, signal?: AbortSignal): Promise<NetworkDetails> {
    const ask = {
      what: `inspect network ${shortRef(idOrName)}`,
      request: `GET /networks/${shortRef(idOrName)}`,
      signal,
    };
    const { value } = await this.call.json(ask, inspectAnswer, (s) =>
      this.call.dial(
        this.docker,
        {
          method: 'GET',
          path: `/networks/${encodeURIComponent(idOrName)}`,
          statusCodes: { 200: true, 404: 'no such network', 500: 'server error' },
        },
        s,
      ),
    );
    return {
      id: value.Id,
      name: value.Name,
      driver: value.Driver,
      internal: value.Internal ?? false,
      subnets: (value.IPAM?.Config ?? []).map((c) => c.Subnet ?? '').filter(Boolean),
    };
  }

  /** `changed: false` when the container was not connected: another run (or a person) got there first. */
  async disconnect(network: string, container: string, signal?: AbortSignal): Promise<{ changed: boolean }> {
    const ask = {
      what: `disconnect ${shortRef(container)} from ${shortRef(network)}`,
      request: `POST /networks/${shortRef(network)}/disconnect`,
      signal,
    };
    try {
      await this.call.run(ask, (s) =>
        // Force: a container that is restarting or whose endpoint is half gone must still be cut off.
        this.docker.getNetwork(network).disconnect({ Container: container, Force: true, ...signalOption(s) }),
      );
      return { changed: true };
    } catch (error) {
      if (error instanceof EngineError && /is not connected/i.test(error.engineMessage)) return { changed: false };
      throw error;
    }
  }

  /**
   * Reconnect with the recorded aliases; the recorded addresses only when `withAddress`,
   * because the engine refuses a chosen address on a network without a user-configured subnet.
   */
  async connect(
    container: string,
    attachment: NetworkAttachment,
    withAddress: boolean,
    signal?: AbortSignal,
  ): Promise<void> {
    const endpoint: Record<string, unknown> = { Aliases: attachment.aliases };
    if (withAddress && (attachment.ipv4 || attachment.ipv6)) {
      endpoint.IPAMConfig = {
        ...(attachment.ipv4 ? { IPv4Address: attachment.ipv4 } : {}),
        ...(attachment.ipv6 ? { IPv6Address: attachment.ipv6 } : {}),
      };
    }
    if (attachment.links?.length) endpoint.Links = attachment.links;
    const network = attachment.networkId || attachment.network;
    const ask = {
      what: `connect ${shortRef(container)} to ${attachment.network}`,
      request: `POST /networks/${shortRef(network)}/connect`,
      signal,
    };
    await this.call.run(ask, (s) =>
      this.docker.getNetwork(network).connect({ Container: container, EndpointConfig: endpoint, ...signalOption(s) }),
    );
  }
}
