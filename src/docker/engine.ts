import { Call, createDockerode } from './client.js';
import { resolveEndpoint, type Endpoint } from './connect.js';
import { ContainerClient } from './containers.js';
import { ImageClient } from './images.js';
import { NetworkClient } from './networks.js';
import { SystemClient } from './system.js';
import type { EngineIdentity, EngineVersion } from './types.js';

/** One connection to one Docker engine, split by resource. The only door to dockerode. */
export interface Engine {
  readonly endpoint: Endpoint;
  readonly containers: ContainerClient;
  readonly networks: NetworkClient;
  readonly images: ImageClient;
  readonly system: SystemClient;
  /** Asked once, by the first caller; the version also tells us the engine answers at all. */
  version(): Promise<EngineVersion>;
  /** The engine's ID and host name, asked once; what records and locks are keyed by. */
  identity(): Promise<EngineIdentity>;
}

export async function openEngine(
  options: { host?: string; context?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Engine> {
  const endpoint = resolveEndpoint({ host: options.host, context: options.context }, options.env);
  const docker = await createDockerode(endpoint);
  const call = new Call(endpoint);
  const system = new SystemClient(docker, call);
  let version: Promise<EngineVersion> | undefined;
  let identity: Promise<EngineIdentity> | undefined;
  return {
    endpoint,
    containers: new ContainerClient(docker, call),
    networks: new NetworkClient(docker, call),
    images: new ImageClient(docker, call),
    system,
    version: () => (version ??= system.version()),
    identity: () => (identity ??= system.identity()),
  };
}
