// A private second Docker engine for the tests that stop, crash or restart an engine: the one
// every other test uses must never be disturbed. It runs in a network namespace of its own:
//
//   ip netns add NAME
//   nsenter --net=/run/netns/NAME dockerd --data-root DIR/data --exec-root DIR/exec ... -H unix://DIR/d.sock
//
// nsenter, not `ip netns exec`: that one also remounts /sys, and dockerd then finds no cgroups.
// Never a second daemon in the host's network namespace: with --bridge none, or when restarted
// after a crash, such a daemon deleted the host's docker0 and the first engine could no longer
// start containers. Inside its own namespace its default bridge (docker0, 172.17.0.0/16 there)
// touches nothing of the host's. Its unix socket is reachable from the host all the same.
//
// One engine per test file (`usePrivateEngine()`), not per test: a start costs about a second and
// the fixture image import another. Everything it leaves (processes, mounts, cgroups, the
// namespace, its folder) is removed in afterAll even when a test failed, and by the next start
// when a test process died before it could clean up (its owner pid is gone).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  openSync,
  closeSync,
  readdirSync,
  readFileSync,
  rmSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll } from 'vitest';
import { ensureFixtureImage, FIXTURE_IMAGE, TEST_LABEL } from './fixture-image.js';

export interface PrivateEngine {
  /** The network namespace's name; also names its folder (/tmp/NAME) and its cgroup parent. */
  name: string;
  /** The unix socket the engine listens on. */
  socket: string;
  /** The address to give firebreak: `--host unix:///tmp/fbe-.../d.sock`. */
  host: string;
  /** A client of this engine (a call that hangs fails after 60 s; a stopped engine refuses at once). */
  docker: Docker;
  /** With the `tls` option: `tcp://ADDRESS:2376`, the engine's TLS listener on its side of the veth pair. */
  tlsHost?: string;
  /** The daemon's log (dockerd and containerd), for messages when something goes wrong. */
  logFile: string;
  /** The dockerd process id while it runs. */
  pid(): number | undefined;
  /** SIGKILL to dockerd (a crash): resolves once it and its containerd are gone. Containers' shims stay, as after a real crash. */
  kill(): Promise<void>;
  /** SIGTERM to dockerd (a clean shutdown, containers stopped within 1 s): resolves once it is gone. */
  stop(): Promise<void>;
  /** Starts dockerd again on the same data-root (stopping it first if it runs); resolves once it answers /_ping. */
  restart(): Promise<void>;
  /** Removes everything: daemon, containers and their shims, mounts, cgroups, namespace, folder. Safe to call twice. */
  remove(): Promise<void>;
  /** Creates and starts a labelled container from the fixture image (sleeping an hour unless `cmd` says otherwise). */
  run(opts?: RunOptions): Promise<{ id: string; name: string }>;
}

export interface RunOptions {
  name?: string;
  /** Default: the fixture image. */
  image?: string;
  cmd?: string[];
  /** User-defined networks by name: the first at create time, the rest connected before start. */
  networks?: string[];
  labels?: Record<string, string>;
  /** 'always' brings the container back when the engine restarts, as production containers are. */
  restart?: 'no' | 'always' | 'unless-stopped';
}

export interface PrivateEngineOptions {
  /** dockerd --live-restore: containers keep running through a crash and a restart (default false, as Docker's). */
  liveRestore?: boolean;
  /**
   * Also serve the Engine API over TCP with verified TLS (`--tlsverify`), reached through a veth
   * pair into the engine's namespace: the host side gets `hostAddress`, the namespace `address`
   * (a /30 of 10.233.0.0/16). The test makes the certificates for that address with openssl in
   * `tls(address)`, which returns the paths dockerd reads.
   */
  tls?: (address: string) => { ca: string; cert: string; key: string };
  /** How long a start may take to answer /_ping (default 90 s: after a crash it first cleans up after every container that ran, a second or more each on a busy machine). */
  readyMs?: number;
}

const PREFIX = 'fbe-';
const ROOT = '/tmp';
const CGROUP_ROOT = '/sys/fs/cgroup';

/**
 * Starts a private engine and imports the fixture image into it. The paths are short on purpose:
 * a unix socket path may not exceed 107 bytes, and containerd puts its own under the exec-root.
 */
export async function startPrivateEngine(opts: PrivateEngineOptions = {}): Promise<PrivateEngine> {
  requireTools();
  sweepOrphans();
  const name = `${PREFIX}${randomBytes(3).toString('hex')}`;
  const dir = join(ROOT, name);
  mkdirSync(dir, { mode: 0o700 });
  // Whose engine this is: a later start removes it once this process is gone (see sweepOrphans).
  writeFileSync(join(dir, 'owner'), String(process.pid));
  const socket = join(dir, 'd.sock');
  const logFile = join(dir, 'dockerd.log');

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const args = [
    `--net=/run/netns/${name}`,
    'dockerd',
    '--data-root',
    join(dir, 'data'),
    '--exec-root',
    join(dir, 'exec'),
    '--pidfile',
    join(dir, 'dockerd.pid'),
    '-H',
    `unix://${socket}`,
    // Its containers' cgroups apart from the first engine's (/docker), so cleanup finds them all.
    '--cgroup-parent',
    `/${name}`,
    // A clean stop waits this long for containers that ignore SIGTERM (a test must not wait 15 s).
    '--shutdown-timeout',
    '1',
    ...(opts.liveRestore ? ['--live-restore'] : []),
  ];
  // The veth pair's /30 comes from the engine's random name, so two engines at once do not collide.
  const net = Buffer.from(name.slice(PREFIX.length), 'hex');
  const vethAddress = `10.233.${net[1]}.${(net[2]! & 0xfc) + 2}`;
  const vethHostAddress = `10.233.${net[1]}.${(net[2]! & 0xfc) + 1}`;
  if (opts.tls) {
    const files = opts.tls(vethAddress);
    args.push('-H', `tcp://${vethAddress}:2376`, '--tlsverify', '--tlscacert', files.ca, '--tlscert', files.cert);
    args.push('--tlskey', files.key);
  }
  const docker = new Docker({ socketPath: socket, timeout: 60_000 });

  const launch = async () => {
    const log = openSync(logFile, 'a');
    // nsenter execs dockerd in place (no fork for a network namespace alone): the child is dockerd.
    const started = spawn('nsenter', args, { stdio: ['ignore', log, log] });
    closeSync(log);
    started.unref();
    child = started;
    exited = new Promise((resolve) => started.once('exit', () => resolve()));
    const deadline = Date.now() + (opts.readyMs ?? 90_000);
    for (;;) {
      if (started.exitCode !== null || started.signalCode !== null) {
        throw new Error(
          `private dockerd ${name} exited (${started.exitCode ?? started.signalCode}) before answering; its log ends:\n${tail(logFile)}`,
        );
      }
      try {
        // dockerode's typings omit ping's options; a dockerd still starting can hold a request open.
        await (docker.ping as unknown as (o: object) => Promise<unknown>).call(docker, {
          abortSignal: AbortSignal.timeout(2000),
        });
        return;
      } catch {
        if (Date.now() > deadline)
          throw new Error(
            `private dockerd ${name} did not answer /_ping within ${opts.readyMs ?? 90_000} ms; its log ends:\n${tail(logFile)}`,
          );
        await sleep(100);
      }
    }
  };
  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  /**
   * Sends `signal` and waits (bounded) for dockerd to exit, and for its containerd (killed with it)
   * to be gone too: not only dead but reaped. A new dockerd reads containerd's pid file, finds a
   * zombie of that pid alive, waits on it, and gives up ("timeout waiting for containerd to start").
   */
  const halt = async (signal: NodeJS.Signals, withinMs: number) => {
    const containerd = pidFrom(join(dir, 'exec', 'containerd', 'containerd.pid'));
    if (running()) {
      child!.kill(signal);
      if (!(await within(exited, withinMs))) {
        child!.kill('SIGKILL');
        await within(exited, 5000);
      }
    }
    await waitFor(
      () => processesOf(dir, { daemonsOnly: true }).length === 0 && !(containerd && alive(containerd)),
      5000,
    );
  };

  let removed = false;
  const engine: PrivateEngine = {
    name,
    socket,
    host: `unix://${socket}`,
    ...(opts.tls ? { tlsHost: `tcp://${vethAddress}:2376` } : {}),
    docker,
    logFile,
    pid: () => (running() ? child!.pid : undefined),
    kill: () => halt('SIGKILL', 5000),
    stop: () => halt('SIGTERM', 20_000),
    restart: async () => {
      await halt('SIGTERM', 20_000);
      await launch();
    },
    remove: async () => {
      if (removed) return;
      removed = true;
      await halt('SIGTERM', 20_000);
      cleanUp(name);
    },
    run: async (o = {}) => {
      const [first, ...rest] = o.networks ?? [];
      const container = await docker.createContainer({
        name: o.name ?? `fb-test-${randomBytes(4).toString('hex')}`,
        Image: o.image ?? FIXTURE_IMAGE,
        Cmd: o.cmd ?? ['sleep', '3600'],
        Labels: { ...o.labels, [TEST_LABEL]: '1' },
        // docker-init as PID 1, so SIGTERM stops it at once.
        HostConfig: { Init: true, RestartPolicy: { Name: o.restart ?? 'no' }, ...(first && { NetworkMode: first }) },
      });
      for (const network of rest) await docker.getNetwork(network).connect({ Container: container.id });
      await container.start();
      const info = await container.inspect();
      return { id: container.id, name: info.Name.replace(/^\//, '') };
    },
  };

  try {
    execFileSync('ip', ['netns', 'add', name]);
    // A new namespace's loopback is down; containers with published ports and dockerd's own
    // embedded DNS expect it up.
    execFileSync('nsenter', [`--net=/run/netns/${name}`, 'ip', 'link', 'set', 'lo', 'up']);
    // Deleting the namespace (cleanUp) deletes its end of the pair, and with it the host's end.
    if (opts.tls) addVethPair(name, vethHostAddress, vethAddress);
    await launch();
    await ensureFixtureImage(docker);
  } catch (error) {
    await engine.remove();
    throw error;
  }
  return engine;
}

/** A veth pair from the host into the engine's namespace, a /30 with an address at each end. */
function addVethPair(name: string, hostAddress: string, address: string): void {
  const outside = `fbv${name.slice(PREFIX.length)}`;
  const inside = `fbn${name.slice(PREFIX.length)}`;
  const inNs = (...args: string[]) => execFileSync('nsenter', [`--net=/run/netns/${name}`, 'ip', ...args]);
  execFileSync('ip', ['link', 'add', outside, 'type', 'veth', 'peer', 'name', inside]);
  execFileSync('ip', ['link', 'set', inside, 'netns', name]);
  execFileSync('ip', ['addr', 'add', `${hostAddress}/30`, 'dev', outside]);
  execFileSync('ip', ['link', 'set', outside, 'up']);
  inNs('addr', 'add', `${address}/30`, 'dev', inside);
  inNs('link', 'set', inside, 'up');
}

/** A missing tool is a failure that says what to install, never a skip. */
function requireTools(): void {
  const tools: Array<[string, string]> = [
    ['ip', 'iproute2'],
    ['nsenter', 'util-linux'],
    ['dockerd', 'docker.io'],
  ];
  const path = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin']);
  const missing = tools.filter(([tool]) => !path.some((dir) => dir && existsSync(join(dir, tool))));
  if (missing.length > 0) {
    throw new Error(
      `the private test engine needs ${missing.map(([tool, pkg]) => `${tool} (Debian package ${pkg})`).join(', ')}`,
    );
  }
}

/**
 * One private engine for the whole test file: started in beforeAll, removed in afterAll. Returns
 * a getter, because the engine exists only once beforeAll has run.
 */
export function usePrivateEngine(opts: PrivateEngineOptions = {}): () => PrivateEngine {
  let engine: PrivateEngine | undefined;
  let bridgeBefore = false;
  beforeAll(async () => {
    bridgeBefore = hostBridgeIsUp();
    engine = await startPrivateEngine(opts);
  }, 120_000);
  afterAll(async () => {
    if (!engine) return;
    await engine.remove();
    // What a private engine must never leave behind, nor take from the host (see the top of this file).
    const problems = [
      ...leftoverProcesses(engine.name).map((pid) => `process ${pid} is still running`),
      ...mountsUnder(join(ROOT, engine.name)).map((mount) => `${mount} is still mounted`),
      ...(existsSync(`/run/netns/${engine.name}`) ? [`network namespace ${engine.name} is still there`] : []),
      ...(existsSync(join(ROOT, engine.name)) ? [`${join(ROOT, engine.name)} is still there`] : []),
      ...(bridgeBefore && !hostBridgeIsUp() ? ["the host's docker0 is gone or down"] : []),
    ];
    if (problems.length > 0) throw new Error(`private engine ${engine.name}: ${problems.join('; ')}`);
  }, 60_000);
  return () => {
    if (!engine) throw new Error('the private engine is not running: usePrivateEngine() starts it in beforeAll');
    return engine;
  };
}

/** Whether the host's own docker0 is still there and up: what a stray second daemon once deleted. */
export function hostBridgeIsUp(): boolean {
  try {
    // The interface flags; IFF_UP is bit 0.
    return (Number(readFileSync('/sys/class/net/docker0/flags', 'utf8').trim()) & 1) === 1;
  } catch {
    return false;
  }
}

/** Processes belonging to a private engine still alive: its daemons, shims, and containers' processes. */
export function leftoverProcesses(name: string): number[] {
  return [...new Set([...processesOf(join(ROOT, name)), ...cgroupProcesses(name)])];
}

// ---- cleanup ----------------------------------------------------------------------------------

/**
 * Everything a private engine may leave once its dockerd is gone: containers' processes (in its
 * cgroup parent), their containerd shims and a containerd that outlived dockerd (found by the
 * folder in their command line), the mounts under its folder (overlay layers, the data-root's own
 * bind mount, network namespaces of containers), its cgroups, its namespace and the folder.
 */
function cleanUp(name: string): void {
  const dir = join(ROOT, name);
  for (let round = 0; round < 50; round++) {
    const pids = leftoverProcesses(name);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
    execFileSync('sleep', ['0.1']);
  }
  // Deepest first: an overlay mount sits inside the data-root's own bind mount.
  const mounts = mountsUnder(dir).sort((a, b) => b.length - a.length);
  for (const mount of mounts) {
    try {
      execFileSync('umount', [mount], { stdio: 'ignore' });
    } catch {
      execFileSync('umount', ['-l', mount], { stdio: 'ignore' });
    }
  }
  removeCgroups(name);
  removeShimSockets(dir);
  if (existsSync(`/run/netns/${name}`)) execFileSync('ip', ['netns', 'del', name]);
  rmSync(dir, { recursive: true, force: true });
}

/**
 * A shim killed with SIGKILL leaves its socket in containerd's shared folder, named by the hash
 * of containerd's address, the namespace and the container id (containerd's shim.SocketAddress).
 */
function removeShimSockets(dir: string): void {
  const address = join(dir, 'exec', 'containerd', 'containerd.sock');
  let ids: string[] = [];
  try {
    ids = readdirSync(join(dir, 'data', 'containers'));
  } catch {
    return;
  }
  for (const id of ids) {
    const hash = createHash('sha256').update(`${address}/moby/${id}`).digest('hex');
    rmSync(`/run/containerd/s/${hash}`, { force: true });
  }
}

/** Removes the engines of test processes that died before their afterAll. */
function sweepOrphans(): void {
  for (const entry of readdirSync(ROOT)) {
    if (!entry.startsWith(PREFIX)) continue;
    let owner = 0;
    try {
      owner = Number(readFileSync(join(ROOT, entry, 'owner'), 'utf8'));
    } catch {
      continue; // not ours, or still being created
    }
    if (owner > 0 && alive(owner)) continue;
    for (const pid of processesOf(join(ROOT, entry), { daemonsOnly: true })) process.kill(pid, 'SIGKILL');
    cleanUp(entry);
  }
}

/** Processes whose command line names `dir`: dockerd, its containerd, containerd shims (by their -address). */
function processesOf(dir: string, opts: { daemonsOnly?: boolean } = {}): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!args.some((a) => a.includes(`${dir}/`))) continue;
    const program = args[0]?.split('/').pop() ?? '';
    if (opts.daemonsOnly && !['dockerd', 'containerd', 'nsenter'].includes(program)) continue;
    pids.push(Number(entry));
  }
  return pids;
}

function cgroupControllers(): string[] {
  try {
    return readdirSync(CGROUP_ROOT).map((c) => join(CGROUP_ROOT, c));
  } catch {
    return [];
  }
}

/** Every process in the engine's cgroup parent, in any controller (cgroup v1) or the one tree (v2). */
function cgroupProcesses(name: string): number[] {
  const pids: number[] = [];
  const visit = (path: string) => {
    try {
      for (const line of readFileSync(join(path, 'cgroup.procs'), 'utf8').split('\n'))
        if (line) pids.push(Number(line));
      for (const sub of readdirSync(path, { withFileTypes: true })) if (sub.isDirectory()) visit(join(path, sub.name));
    } catch {
      // Not there in this controller.
    }
  };
  for (const root of [CGROUP_ROOT, ...cgroupControllers()]) visit(join(root, name));
  return pids;
}

function removeCgroups(name: string): void {
  const remove = (path: string) => {
    try {
      for (const sub of readdirSync(path, { withFileTypes: true })) if (sub.isDirectory()) remove(join(path, sub.name));
      rmdirSync(path);
    } catch {
      // Not there, or still busy: nothing a test can do about it.
    }
  };
  for (const root of [CGROUP_ROOT, ...cgroupControllers()]) if (existsSync(join(root, name))) remove(join(root, name));
}

function mountsUnder(dir: string): string[] {
  // Field 5 of mountinfo is the mount point, with spaces and the like octal-escaped.
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => point !== undefined && (point === dir || point.startsWith(`${dir}/`)));
}

function pidFrom(file: string): number | undefined {
  try {
    return Number(readFileSync(file, 'utf8').trim()) || undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function waitFor(test: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}
