/**
 * The small types that everything above src/docker speaks. Raw Engine API shapes stop here,
 * except `raw` fields, which are kept only to be written verbatim into the evidence bundle.
 */

/** A container a playbook acts on. */
export interface Target {
  id: string;
  name: string;
  image: string;
  imageId: string;
  labels: Record<string, string>;
}

/** One network a container is attached to, with what is needed to put it back. */
export interface NetworkAttachment {
  network: string;
  networkId: string;
  aliases: string[];
  ipv4?: string;
  ipv6?: string;
  mac?: string;
  /** The addresses were chosen by the user (IPAMConfig), not handed out by the engine. */
  fixedAddress: boolean;
  links?: string[];
}

export interface ContainerState {
  status: string;
  running: boolean;
  paused: boolean;
  restarting: boolean;
  exitCode: number;
  health?: string;
  /** The engine's last probe results (it keeps five), oldest first; empty without a healthcheck. */
  healthLog: HealthProbe[];
  restartCount: number;
  startedAt?: string;
  finishedAt?: string;
  oomKilled: boolean;
}

/** One healthcheck probe as the engine recorded it (State.Health.Log). */
export interface HealthProbe {
  start: string;
  end: string;
  exitCode: number;
  output: string;
}

/** Resource limits as `container.update` understands them; absent means unlimited (0 in the API). */
export interface Limits {
  nanoCpus: number;
  cpuShares: number;
  memory: number;
  memorySwap: number;
  pidsLimit: number;
}

export interface ContainerDetails extends Target {
  state: ContainerState;
  networks: NetworkAttachment[];
  networkMode: string;
  limits: Limits;
  hasHealthcheck: boolean;
  /** Volumes and binds, for backups through the archive API. */
  mounts: Mount[];
  restartPolicy: RestartPolicy;
  /** Started with a TTY: its logs are one plain stream, not stdout and stderr in frames. */
  tty: boolean;
  raw: unknown;
}

/** A volume, bind or tmpfs mount of a container. */
export interface Mount {
  type: string;
  /** The volume's name; absent for binds and tmpfs. Anonymous volumes have a 64-hex name. */
  name?: string;
  source: string;
  destination: string;
  readOnly: boolean;
}

/** `no`, `always`, `unless-stopped`, `on-failure` (with its retry cap). */
export interface RestartPolicy {
  name: string;
  maximumRetryCount: number;
}

/** One line of `docker diff`: a path in the container's writable layer and what happened to it. */
export interface FileChange {
  path: string;
  kind: 'changed' | 'added' | 'deleted';
}

/** What the archive API says about a path (its X-Docker-Container-Path-Stat header). */
export interface PathStat {
  name: string;
  size: number;
  /** Go's os.FileMode bits: the permission bits plus type flags (directory, symlink, ...). */
  mode: number;
  mtime: string;
  linkTarget: string;
  type: 'file' | 'directory' | 'symlink' | 'other';
}

export interface NetworkDetails {
  id: string;
  name: string;
  driver: string;
  internal: boolean;
  /** Subnets as the engine reports them (configured or allocated: the inspect document does not say which). */
  subnets: string[];
}

export interface EngineVersion {
  version: string;
  apiVersion: string;
  os: string;
  arch: string;
}

/** Which engine answers: its ID (GET /info `ID`) and the host name it reports. */
export interface EngineIdentity {
  id: string;
  name: string;
}
