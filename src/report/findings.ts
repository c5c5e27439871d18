/**
 * The hardening posture of a container, read from its inspect document as the engine returned
 * it. A pure function over untyped JSON: the document comes from a bundle that may be old, from
 * another engine version, or hand-edited, so every field is optional here.
 */

import { binaryScale } from '../bytes.js';

export type Level = 'ok' | 'warn' | 'risk';

export interface Finding {
  /** Stable key for JSON consumers, e.g. `capabilities`. */
  id: string;
  check: string;
  value: string;
  level: Level;
  /** Why the check matters, in one line. */
  why: string;
}

type Json = Record<string, unknown>;

const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

// Capabilities that on their own give a path to the host or to other containers' traffic.
const DANGEROUS_CAPS = new Set([
  'ALL',
  'SYS_ADMIN',
  'SYS_MODULE',
  'SYS_PTRACE',
  'SYS_RAWIO',
  'SYS_BOOT',
  'DAC_READ_SEARCH',
  'NET_ADMIN',
  'BPF',
  'PERFMON',
  'MAC_ADMIN',
  'SYSLOG',
]);

// Host paths whose bind mount gives a way to read secrets of, or change, the host itself.
const SENSITIVE_PATHS = [
  '/etc',
  '/proc',
  '/sys',
  '/root',
  '/boot',
  '/dev',
  '/home',
  '/usr',
  '/lib',
  '/lib64',
  '/bin',
  '/sbin',
  '/run',
  '/var/run',
  '/var/lib/docker',
  '/var/lib/containerd',
  '/var/lib/kubelet',
];

// A container-runtime API socket is as good as root on the host.
const RUNTIME_SOCKETS = /\/(docker|containerd|crio|podman)\.sock$/;

/** One row per check, in a fixed order; [] when `inspect` is not an inspect document. */
export function assessHardening(inspect: unknown): Finding[] {
  const doc = obj(inspect);
  if (!doc.Config && !doc.HostConfig) return [];
  const host = obj(doc.HostConfig);
  const securityOpt = list(host.SecurityOpt).map(str);
  const privileged = host.Privileged === true;
  const mounts = hostMounts(doc);
  return [
    userFinding(obj(doc.Config)),
    flag(
      'privileged',
      'privileged',
      privileged,
      'risk',
      'yes',
      'no',
      'privileged turns off most isolation: every capability, every host device, no seccomp or AppArmor',
    ),
    capabilitiesFinding(host),
    noNewPrivilegesFinding(securityOpt),
    flag(
      'read-only-rootfs',
      'read-only root filesystem',
      host.ReadonlyRootfs !== true,
      'warn',
      'no (writable)',
      'yes',
      'a writable root filesystem lets an intruder drop tools and change binaries inside the container',
    ),
    seccompFinding(securityOpt, privileged),
    apparmorFinding(str(doc.AppArmorProfile), securityOpt, privileged),
    memoryFinding(host),
    cpuFinding(host),
    pidsFinding(host),
    portsFinding(doc),
    socketFinding(mounts),
    mountsFinding(mounts),
    namespacesFinding(host),
  ];
}

export function countLevels(findings: readonly Finding[]): Record<Level, number> {
  const counts: Record<Level, number> = { risk: 0, warn: 0, ok: 0 };
  for (const f of findings) counts[f.level] += 1;
  return counts;
}

function flag(
  id: string,
  check: string,
  bad: boolean,
  level: Level,
  badValue: string,
  goodValue: string,
  why: string,
): Finding {
  return { id, check, value: bad ? badValue : goodValue, level: bad ? level : 'ok', why };
}

function userFinding(config: Json): Finding {
  const user = str(config.User).trim();
  const uid = user.split(':')[0] ?? '';
  const root = uid === '' || uid === '0' || uid === 'root';
  const value = user === '' ? 'root (no user set)' : root ? `root (${user})` : user;
  return {
    id: 'user',
    check: 'runs as',
    value,
    level: root ? 'warn' : 'ok',
    why: 'root in the container is root on the host after an escape, unless user namespaces remap it',
  };
}

function capabilitiesFinding(host: Json): Finding {
  const normal = (v: unknown) => str(v).toUpperCase().replace(/^CAP_/, '');
  const added = list(host.CapAdd).map(normal).filter(Boolean);
  const droppedAll = list(host.CapDrop).map(normal).includes('ALL');
  const why = 'each added capability widens what root in the container may do to the kernel and the host';
  if (added.length === 0)
    return {
      id: 'capabilities',
      check: 'added capabilities',
      value: droppedAll ? 'none added; all dropped' : 'none added',
      level: 'ok',
      why,
    };
  const level: Level = added.some((cap) => DANGEROUS_CAPS.has(cap)) ? 'risk' : 'warn';
  return { id: 'capabilities', check: 'added capabilities', value: added.join(', '), level, why };
}

/** `SecurityOpt` entries are `name=value` or, in older engines, `name:value`. */
function securityOption(options: readonly string[], name: string): string | undefined {
  for (const option of options) {
    if (option === name) return '';
    if (option.startsWith(`${name}=`) || option.startsWith(`${name}:`)) return option.slice(name.length + 1);
  }
  return undefined;
}

function noNewPrivilegesFinding(options: readonly string[]): Finding {
  const value = securityOption(options, 'no-new-privileges');
  const set = value !== undefined && value !== 'false';
  return flag(
    'no-new-privileges',
    'no-new-privileges',
    !set,
    'warn',
    'not set',
    'set',
    'without it, setuid binaries in the container can still raise a process to root',
  );
}

function seccompFinding(options: readonly string[], privileged: boolean): Finding {
  const profile = securityOption(options, 'seccomp');
  const why = 'the seccomp profile blocks dangerous system calls; unconfined exposes the whole kernel API';
  if (privileged) return { id: 'seccomp', check: 'seccomp profile', value: 'none (privileged)', level: 'risk', why };
  if (profile === 'unconfined')
    return { id: 'seccomp', check: 'seccomp profile', value: 'unconfined', level: 'risk', why };
  // The docker CLI sends a custom profile's JSON itself, not its file name.
  return {
    id: 'seccomp',
    check: 'seccomp profile',
    value: profile ? 'custom profile' : 'engine default',
    level: 'ok',
    why,
  };
}

function apparmorFinding(profile: string, options: readonly string[], privileged: boolean): Finding {
  const asked = securityOption(options, 'apparmor');
  const why = 'AppArmor confines file, mount and signal access; unconfined removes that layer';
  if (privileged || profile === 'unconfined' || asked === 'unconfined') {
    return {
      id: 'apparmor',
      check: 'AppArmor profile',
      value: privileged ? 'unconfined (privileged)' : 'unconfined',
      level: 'risk',
      why,
    };
  }
  // An empty profile means the host runs without AppArmor: nothing was weakened, nothing confines.
  if (profile === '')
    return { id: 'apparmor', check: 'AppArmor profile', value: 'none (AppArmor off on the host)', level: 'warn', why };
  return { id: 'apparmor', check: 'AppArmor profile', value: profile, level: 'ok', why };
}

function memoryFinding(host: Json): Finding {
  const memory = num(host.Memory);
  const why = 'without a memory limit one container can exhaust host memory and set off the OOM killer elsewhere';
  return {
    id: 'memory',
    check: 'memory limit',
    value: memory > 0 ? binaryBytes(memory) : 'none',
    level: memory > 0 ? 'ok' : 'warn',
    why,
  };
}

function cpuFinding(host: Json): Finding {
  const why = 'without a CPU limit a runaway or cryptomining process starves its neighbours';
  const nano = num(host.NanoCpus);
  const quota = num(host.CpuQuota);
  const period = num(host.CpuPeriod) || 100_000; // the kernel's default CFS period
  const cpuset = str(host.CpusetCpus);
  const parts: string[] = [];
  if (nano > 0) parts.push(`${round(nano / 1e9)} CPUs`);
  else if (quota > 0) parts.push(`${round(quota / period)} CPUs (quota)`);
  if (cpuset) parts.push(`cpuset ${cpuset}`);
  if (parts.length > 0) return { id: 'cpu', check: 'CPU limit', value: parts.join(', '), level: 'ok', why };
  const shares = num(host.CpuShares);
  // Shares only weigh containers against each other under contention; they cap nothing.
  return {
    id: 'cpu',
    check: 'CPU limit',
    value: shares > 0 ? `none (only ${shares} shares)` : 'none',
    level: 'warn',
    why,
  };
}

function pidsFinding(host: Json): Finding {
  const pids = num(host.PidsLimit); // null, 0 and -1 all mean unlimited
  const why = "without a pids limit a fork bomb in the container exhausts the host's process table";
  return {
    id: 'pids',
    check: 'pids limit',
    value: pids > 0 ? String(pids) : 'none',
    level: pids > 0 ? 'ok' : 'warn',
    why,
  };
}

interface Published {
  hostIp: string;
  hostPort: string;
  port: string;
}

function portsFinding(doc: Json): Finding {
  const why = 'ports published on all interfaces are reachable from every network the host is on';
  // A running container's actual bindings; a stopped one only has what was asked for.
  let published = bindings(obj(obj(doc.NetworkSettings).Ports));
  if (published.length === 0) published = bindings(obj(obj(doc.HostConfig).PortBindings));
  const everywhere = (p: Published) => p.hostIp === '' || p.hostIp === '0.0.0.0' || p.hostIp === '::';
  const shown = new Set<string>();
  for (const p of published) {
    shown.add(
      everywhere(p) ? `*:${p.hostPort || '(random)'}->${p.port}` : `${p.hostIp}:${p.hostPort || '(random)'}->${p.port}`,
    );
  }
  const open = published.some(everywhere) || (obj(doc.HostConfig).PublishAllPorts === true && published.length === 0);
  if (shown.size === 0)
    return {
      id: 'ports',
      check: 'published ports',
      value: open ? 'all exposed ports (-P)' : 'none',
      level: open ? 'warn' : 'ok',
      why,
    };
  const value = `${[...shown].join(', ')}${open ? ' (* = all interfaces)' : ''}`;
  return { id: 'ports', check: 'published ports', value, level: open ? 'warn' : 'ok', why };
}

function bindings(ports: Json): Published[] {
  return Object.entries(ports).flatMap(([port, hosts]) =>
    list(hosts).map((h) => ({ hostIp: str(obj(h).HostIp), hostPort: str(obj(h).HostPort), port })),
  );
}

interface HostMount {
  source: string;
  destination: string;
  rw: boolean;
}

/** Bind mounts of host paths, from `Mounts` (what is mounted) and `HostConfig.Binds`/`Mounts` (what was asked). */
function hostMounts(doc: Json): HostMount[] {
  const found = new Map<string, HostMount>();
  const add = (source: string, destination: string, rw: boolean) => {
    if (source.startsWith('/')) found.set(`${source}\0${destination}`, { source, destination, rw });
  };
  for (const m of list(doc.Mounts).map(obj))
    if (str(m.Type) === 'bind') add(str(m.Source), str(m.Destination), m.RW !== false);
  const host = obj(doc.HostConfig);
  for (const bind of list(host.Binds).map(str)) {
    const [source = '', destination = '', mode = ''] = bind.split(':');
    add(source, destination, !mode.split(',').includes('ro'));
  }
  for (const m of list(host.Mounts).map(obj))
    if (str(m.Type) === 'bind') add(str(m.Source), str(m.Target), m.ReadOnly !== true);
  return [...found.values()];
}

const mountText = (m: HostMount) => `${m.source} -> ${m.destination} (${m.rw ? 'rw' : 'ro'})`;
const isSocket = (m: HostMount) =>
  RUNTIME_SOCKETS.test(m.source) || ['/run', '/var/run', '/run/docker', '/var/run/docker'].includes(m.source);
const isSystemRoot = (m: HostMount) => m.source === '/' || SENSITIVE_PATHS.includes(m.source.replace(/\/+$/, ''));
const isUnderSystem = (m: HostMount) => SENSITIVE_PATHS.some((p) => m.source.startsWith(`${p}/`));
// A system folder itself, or anything writable inside one, is a way onto the host. A read-only
// file inside one (`/etc/localtime:ro` is everywhere) is worth a look, not an alarm.
const isRisky = (m: HostMount) => isSystemRoot(m) || (isUnderSystem(m) && m.rw);

function socketFinding(mounts: readonly HostMount[]): Finding {
  const sockets = mounts.filter(isSocket);
  const why = 'whoever reaches the Docker socket is root on the host: it can start a privileged container';
  if (sockets.length === 0)
    return { id: 'docker-socket', check: 'Docker socket', value: 'not mounted', level: 'ok', why };
  return { id: 'docker-socket', check: 'Docker socket', value: sockets.map(mountText).join(', '), level: 'risk', why };
}

function mountsFinding(mounts: readonly HostMount[]): Finding {
  const why = 'bind-mounted host paths can be read or changed from inside; system paths are a way out';
  if (mounts.length === 0) return { id: 'host-mounts', check: 'host paths mounted', value: 'none', level: 'ok', why };
  const risky = mounts.filter(isRisky);
  const rest = mounts.filter((m) => !isRisky(m));
  const level: Level = risky.length > 0 ? 'risk' : rest.some((m) => m.rw || isUnderSystem(m)) ? 'warn' : 'ok';
  return {
    id: 'host-mounts',
    check: 'host paths mounted',
    value: [...risky, ...rest].map(mountText).join(', '),
    level,
    why,
  };
}

function namespacesFinding(host: Json): Finding {
  const shared = (
    [
      ['network', host.NetworkMode],
      ['PID', host.PidMode],
      ['IPC', host.IpcMode],
      ['UTS', host.UTSMode],
      ['user', host.UsernsMode],
    ] as const
  )
    .filter(([, mode]) => str(mode) === 'host')
    .map(([name]) => name);
  const why = "the host's network, PID or IPC namespace lets the container see and touch host processes and traffic";
  if (shared.length === 0)
    return { id: 'host-namespaces', check: 'host namespaces', value: 'none shared', level: 'ok', why };
  return { id: 'host-namespaces', check: 'host namespaces', value: `host ${shared.join(', ')}`, level: 'risk', why };
}

function binaryBytes(bytes: number): string {
  const { value, unit } = binaryScale(bytes);
  return `${round(value)} ${unit}`;
}

function round(n: number): string {
  return String(Math.round(n * 100) / 100);
}
