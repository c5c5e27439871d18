import { Call, createDockerode } from './client.js';
import { resolveEndpoint, type Endpoint } from './connect.js';
import { ContainerClient } from './containers.js';
import { EventClient } from './events.js';
import { ExecClient } from './exec.js';
import { EventFeed } from './follow.js';
import { ImageClient } from './images.js';
import { LabClient } from './lab.js';
import { NetworkClient } from './networks.js';
import { ProbeClient } from './probe.js';
import { SystemClient } from './system.js';
import type { EngineIdentity, EngineVersion } from './types.js';

/** One connection to one Docker engine, split by resource. The only door to dockerode. */
export interface Engine {
  readonly endpoint: Endpoint;
  readonly containers: ContainerClient;
  readonly networks: NetworkClient;
  readonly images: ImageClient;
  readonly system: SystemClient;
  /** What `doctor` asks and creates (probe.ts). */
  readonly probe: ProbeClient;
  /** Sacrificial containers and networks, for drills. */
  readonly lab: LabClient;
  readonly events: EventClient;
  readonly exec: ExecClient;
  /** The live event stream (watch). */
  readonly feed: EventFeed;
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
    probe: new ProbeClient(docker, call),
    lab: new LabClient(docker, call),
    events: new EventClient(docker, call),
    exec: new ExecClient(docker, call),
    feed: new EventFeed(docker, call),
    version: () => (version ??= system.version()),
    // A failed ask is not kept: the next caller asks again.
    identity: () =>
      (identity ??= system.identity().catch((error: unknown) => {
        identity = undefined;
        throw error;
      })),
  };
}
