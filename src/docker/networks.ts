import type Dockerode from 'dockerode';
import type { Call } from './client.js';
import type { NetworkAttachment, NetworkDetails } from './types.js';

export class NetworkClient {
  constructor(
    private readonly docker: Dockerode,
    private readonly call: Call,
  ) {}

  async inspect(idOrName: string): Promise<NetworkDetails> {
    const raw = (await this.call.run(`inspect network ${idOrName}`, () =>
      this.docker.getNetwork(idOrName).inspect(),
    )) as {
      Id: string;
      Name: string;
      Driver: string;
      Internal: boolean;
      IPAM?: { Config?: Array<{ Subnet?: string }> | null };
    };
    return {
      id: raw.Id,
      name: raw.Name,
      driver: raw.Driver,
      internal: raw.Internal,
      subnets: (raw.IPAM?.Config ?? []).map((c) => c.Subnet ?? '').filter(Boolean),
    };
  }

  async disconnect(network: string, container: string): Promise<void> {
    await this.call.run(`disconnect ${container} from ${network}`, () =>
      // Force: a container that is restarting or whose endpoint is half gone must still be cut off.
      this.docker.getNetwork(network).disconnect({ Container: container, Force: true }),
    );
  }

  /**
   * Reconnect with the recorded aliases; the recorded addresses only when `withAddress`,
   * because the engine refuses a chosen address on a network without a user-configured subnet.
   */
  async connect(container: string, attachment: NetworkAttachment, withAddress: boolean): Promise<void> {
    const endpoint: Record<string, unknown> = { Aliases: attachment.aliases };
    if (withAddress && (attachment.ipv4 || attachment.ipv6)) {
      endpoint.IPAMConfig = {
        ...(attachment.ipv4 ? { IPv4Address: attachment.ipv4 } : {}),
        ...(attachment.ipv6 ? { IPv6Address: attachment.ipv6 } : {}),
      };
    }
    if (attachment.links?.length) endpoint.Links = attachment.links;
    await this.call.run(`connect ${container} to ${attachment.network}`, () =>
      this.docker.getNetwork(attachment.networkId || attachment.network).connect({
        Container: container,
        EndpointConfig: endpoint,
      }),
    );
  }
}
