// Helpers for tests that run against the real engine. Everything they create carries the label
// firebreak.test=1 and a random name suffix (files run in parallel against one engine), and is
// recorded so that removeAllCreated() / useHarness() remove it even when a test fails.
import { randomBytes, randomInt } from 'node:crypto';
import Docker from 'dockerode';
import { afterAll, afterEach, beforeEach } from 'vitest';
import { FIXTURE_IMAGE, TEST_LABEL } from '../setup/fixture-image.js';

export { FIXTURE_IMAGE, TEST_LABEL };
export const TEST_LABELS = { [TEST_LABEL]: '1' };

let client: Docker | undefined;
/** One dockerode client per test file; DOCKER_HOST or the local socket, like the CLI. */
export function docker(): Docker {
  client ??= new Docker();
  return client;
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

// ---- cleanup registry -------------------------------------------------------------------------

type Scope = 'file' | 'test';
interface Created {
  kind: 'container' | 'network';
  id: string;
  scope: Scope;
}
const created: Created[] = [];
let scope: Scope = 'file';

/** Records something made outside the harness (e.g. by the CLI under test) so cleanup removes it. */
export function track(kind: Created['kind'], idOrName: string): void {
  created.push({ kind, id: idOrName, scope });
}

const statusOf = (error: unknown) => (error as { statusCode?: number }).statusCode;

async function removeEntries(entries: Created[]): Promise<void> {
  for (const entry of entries) created.splice(created.indexOf(entry), 1);
  // Containers first: the engine refuses to remove a network that still has endpoints.
  const containers = entries.filter((e) => e.kind === 'container');
  const networks = entries.filter((e) => e.kind === 'network');
  const failures: unknown[] = [];
  const settle = async (jobs: Array<Promise<unknown>>) => {
    for (const r of await Promise.allSettled(jobs)) {
      // 404: already gone; 409: the engine is already removing it (a parallel force-remove).
      if (r.status === 'rejected' && ![404, 409].includes(statusOf(r.reason) ?? 0)) failures.push(r.reason);
    }
  };
  await settle(containers.map((c) => docker().getContainer(c.id).remove({ force: true, v: true })));
  await settle(networks.map((n) => docker().getNetwork(n.id).remove()));
  if (failures.length > 0) throw new AggregateError(failures, `test cleanup left ${failures.length} object(s) behind`);
}

/** Removes every container (forced, with its anonymous volumes) and network this file created. */
export async function removeAllCreated(): Promise<void> {
  await removeEntries([...created]);
}

/**
 * Registers the hooks: what a test (or a beforeEach after this call) creates is removed after that
 * test; what beforeAll or the file body creates is removed after the file. Call it at the top of
 * the file so its afterEach runs after the file's own (vitest runs afterEach hooks in reverse).
 */
export function useHarness(): void {
  beforeEach(() => {
    scope = 'test';
  });
  afterEach(async () => {
    scope = 'file';
    await removeEntries(created.filter((e) => e.scope === 'test'));
  });
  afterAll(removeAllCreated);
}

// ---- networks ---------------------------------------------------------------------------------

export interface NetworkOptions {
  name?: string;
  /** A CIDR such as '10.150.7.0/24', or 'random' for an unused-looking 10.x.y.0/24. */
  subnet?: string;
  gateway?: string;
  labels?: Record<string, string>;
}

export interface TestNetwork {
  id: string;
  name: string;
  subnet?: string;
}

/** An internal bridge network: containers on it reach each other but nothing outside the host. */
export async function createNetwork(opts: NetworkOptions = {}): Promise<TestNetwork> {
  const name = opts.name ?? uniqueName('fb-test-net');
  // A random subnet may collide with one a parallel file picked ("Pool overlaps"): pick again.
  for (let attempt = 1; ; attempt++) {
    const subnet = opts.subnet === 'random' ? `10.${randomInt(100, 200)}.${randomInt(0, 256)}.0/24` : opts.subnet;
    try {
      const network = await docker().createNetwork({
        Name: name,
        Driver: 'bridge',
        Internal: true,
        CheckDuplicate: true,
        Labels: { ...opts.labels, ...TEST_LABELS },
        ...(subnet && {
          IPAM: { Driver: 'default', Config: [{ Subnet: subnet, ...(opts.gateway && { Gateway: opts.gateway }) }] },
        }),
      });
      track('network', network.id);
      return { id: network.id, name, subnet };
    } catch (error) {
      const overlaps = /overlaps/i.test(String((error as Error).message));
      if (opts.subnet !== 'random' || !overlaps || attempt >= 5) throw error;
    }
  }
}

/** The n-th host address of an IPv4 subnet: ipInSubnet('10.1.2.0/24', 10) === '10.1.2.10'. */
export function ipInSubnet(subnet: string, n: number): string {
  const base = subnet
    .split('/')[0]
    .split('.')
    .reduce((acc, octet) => acc * 256 + Number(octet), 0);
  const ip = base + n;
  return [24, 16, 8, 0].map((shift) => Math.floor(ip / 2 ** shift) % 256).join('.');
}

// ---- containers -------------------------------------------------------------------------------

export interface NetworkAttachment {
  name: string;
  aliases?: string[];
  ipv4?: string;
}

export interface ContainerOptions {
  name?: string;
  image?: string;
  /** Defaults to sleeping for an hour. */
  cmd?: string[];
  entrypoint?: string[];
  /** The first is attached at create time, the rest with network connect. None: the default bridge. */
  networks?: NetworkAttachment[];
  /** Engine form: durations in nanoseconds. */
  healthcheck?: Docker.HealthConfig;
  tty?: boolean;
  openStdin?: boolean;
  env?: Record<string, string>;
  labels?: Record<string, string>;
  user?: string;
  workingDir?: string;
  restartPolicy?: Docker.HostRestartPolicy;
  stopSignal?: string;
  stopTimeout?: number;
  /** Run docker-init as PID 1 (default true), so SIGTERM stops the container at once. */
  init?: boolean;
  /** Extra HostConfig fields (memory, binds, cap drop, ...), merged over the harness defaults. */
  hostConfig?: Docker.HostConfig;
  /** Create only (default true: create and start). */
  start?: boolean;
}

export interface TestContainer {
  id: string;
  name: string;
}

export async function startContainer(opts: ContainerOptions = {}): Promise<TestContainer> {
  const name = opts.name ?? uniqueName('fb-test');
  const [first, ...rest] = opts.networks ?? [];
  const endpoint = (n: NetworkAttachment): Docker.EndpointSettings => ({
    ...(n.aliases && { Aliases: n.aliases }),
    ...(n.ipv4 && { IPAMConfig: { IPv4Address: n.ipv4 } }),
  });
  const container = await docker().createContainer({
    name,
    Image: opts.image ?? FIXTURE_IMAGE,
    Cmd: opts.cmd ?? ['sleep', '3600'],
    Entrypoint: opts.entrypoint,
    Tty: opts.tty ?? false,
    OpenStdin: opts.openStdin ?? false,
    Env: opts.env && Object.entries(opts.env).map(([k, v]) => `${k}=${v}`),
    Labels: { ...opts.labels, ...TEST_LABELS },
    User: opts.user,
    WorkingDir: opts.workingDir,
    Healthcheck: opts.healthcheck,
    StopSignal: opts.stopSignal,
    StopTimeout: opts.stopTimeout,
    HostConfig: {
      // busybox sleep (or sh) as PID 1 has no SIGTERM handler, and the kernel ignores unhandled
      // signals for PID 1: without an init every stop would wait out its full grace period.
      Init: opts.init ?? true,
      RestartPolicy: opts.restartPolicy,
      // As `docker run --network` does: without it the engine still attaches only the EndpointsConfig
      // network, but HostConfig.NetworkMode reads "default", unlike containers users make.
      ...(first && { NetworkMode: first.name }),
      ...opts.hostConfig,
    },
    ...(first && { NetworkingConfig: { EndpointsConfig: { [first.name]: endpoint(first) } } }),
  });
  // Recorded before anything else can fail, so a failed connect or start still gets cleaned up.
  track('container', container.id);
  for (const n of rest) {
    await docker()
      .getNetwork(n.name)
      .connect({ Container: container.id, EndpointConfig: endpoint(n) });
  }
  if (opts.start ?? true) await container.start();
  return { id: container.id, name };
}

export async function inspectContainer(nameOrId: string): Promise<Docker.ContainerInspectInfo> {
  return docker().getContainer(nameOrId).inspect();
}

export async function inspectNetwork(nameOrId: string): Promise<Docker.NetworkInspectInfo> {
  return docker().getNetwork(nameOrId).inspect();
}

/** Waits for the container to stop; returns its exit code. */
export async function waitForExit(nameOrId: string): Promise<number> {
  const result = (await docker().getContainer(nameOrId).wait()) as { StatusCode: number };
  return result.StatusCode;
}

/** The container's output so far. Without a TTY the engine multiplexes stdout and stderr in frames. */
export async function containerLogs(nameOrId: string): Promise<{ stdout: string; stderr: string }> {
  const c = docker().getContainer(nameOrId);
  const [info, raw] = await Promise.all([c.inspect(), c.logs({ stdout: true, stderr: true, follow: false })]);
  const buf = Buffer.from(raw);
  if (info.Config.Tty) return { stdout: buf.toString('utf8'), stderr: '' };
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  // Frame: [stream (1=stdout, 2=stderr), 0, 0, 0, size (uint32 BE)] then size bytes.
  for (let i = 0; i + 8 <= buf.length;) {
    const size = buf.readUInt32BE(i + 4);
    (buf[i] === 2 ? err : out).push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

/** A container holding `mb` MiB of random bytes at `path`, ready once they are written. */
export async function containerWithFile(mb: number, path = '/big'): Promise<TestContainer> {
  const container = await startContainer({
    cmd: ['sh', '-c', `dd if=/dev/urandom of=${path} bs=1M count=${mb} 2>/dev/null; echo ready; sleep 3600`],
  });
  for (const started = Date.now(); !(await containerLogs(container.name)).stdout.includes('ready');) {
    if (Date.now() - started > 30_000) throw new Error(`${container.name} did not write ${path} in 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return container;
}
