import { Call, createDockerode } from './client.js';
import { resolveEndpoint, type Endpoint } from './connect.js';
import { ContainerClient } from './containers.js';
import { EventFeed } from './follow.js';
import { ImageClient } from './images.js';
import { NetworkClient } from './networks.js';
import { SystemClient } from './system.js';
import type { EngineVersion } from './types.js';

/** One connection to one Docker engine, split by resource. The only door to dockerode. */
export interface Engine {
  readonly endpoint: Endpoint;
  readonly containers: ContainerClient;
  readonly networks: NetworkClient;
  readonly images: ImageClient;
  readonly system: SystemClient;
  /** The live event stream (watch). */
  readonly feed: EventFeed;
  /** Asked once, by the first caller; the version also tells us the engine answers at all. */
  version(): Promise<EngineVersion>;
}

export async function openEngine(options: { host?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Engine> {
  const endpoint = resolveEndpoint(options.host, options.env);
  const docker = await createDockerode(endpoint);
  const call = new Call(endpoint);
  const system = new SystemClient(docker, call);
  let version: Promise<EngineVersion> | undefined;
  return {
    endpoint,
    containers: new ContainerClient(docker, call),
    networks: new NetworkClient(docker, call),
    images: new ImageClient(docker, call),
    system,
    feed: new EventFeed(docker, call),
    version: () => (version ??= system.version()),
  };
}
