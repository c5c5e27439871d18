import { describe, expect, it } from 'vitest';
import { assessHardening, countLevels, type Finding } from '../../src/report/findings.js';

// Hand-written inspect documents, shaped like Docker 20.10's answers (see `docker inspect`).

/** Every control on: the posture the checks should all call ok. */
function hardened(): any {
  return {
    Id: 'a'.repeat(64),
    AppArmorProfile: 'docker-default',
    Config: { User: '1000:1000', Env: ['PATH=/usr/bin'] },
    HostConfig: {
      Privileged: false,
      CapAdd: null,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges:true'],
      ReadonlyRootfs: true,
      Memory: 512 * 1024 * 1024,
      NanoCpus: 500_000_000,
      CpuQuota: 0,
      CpuPeriod: 0,
      CpuShares: 0,
      PidsLimit: 100,
      PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] },
      NetworkMode: 'bridge',
      PidMode: '',
      IpcMode: 'private',
      Binds: null,
    },
    Mounts: [],
    NetworkSettings: { Ports: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] } },
  };
}

/** What `docker run IMAGE` gives: root, no limits, nothing dropped or added. */
function defaults(): any {
  return {
    Id: 'b'.repeat(64),
    AppArmorProfile: 'docker-default',
    Config: { User: '', Env: [] },
    HostConfig: {
      Privileged: false,
      CapAdd: null,
      SecurityOpt: null,
      ReadonlyRootfs: false,
      Memory: 0,
      NanoCpus: 0,
      PidsLimit: null,
      PortBindings: {},
      NetworkMode: 'default',
      IpcMode: 'private',
    },
    Mounts: [],
    NetworkSettings: { Ports: {} },
  };
}

function row(findings: Finding[], id: string): Finding {
  const found = findings.find((f) => f.id === id);
  if (!found) throw new Error(`no finding ${id} in ${findings.map((f) => f.id).join(', ')}`);
  return found;
}

function check(doc: any, id: string): Pick<Finding, 'value' | 'level'> {
  const { value, level } = row(assessHardening(doc), id);
  return { value, level };
}

describe('assessHardening', () => {
  it('calls every check ok for a container with every control on, in a fixed order with a reason each', () => {
    const findings = assessHardening(hardened());
    expect(findings.map((f) => f.id)).toEqual([
      'user',
      'privileged',
      'capabilities',
      'no-new-privileges',
      'read-only-rootfs',
      'seccomp',
      'apparmor',
      'memory',
      'cpu',
      'pids',
      'ports',
      'docker-socket',
      'host-mounts',
      'host-namespaces',
    ]);
    expect(findings.filter((f) => f.level !== 'ok')).toEqual([]);
    for (const f of findings) expect(f.why.length).toBeGreaterThan(20);
    expect(countLevels(findings)).toEqual({ risk: 0, warn: 0, ok: 14 });
    expect(check(hardened(), 'memory').value).toBe('512 MiB');
    expect(check(hardened(), 'cpu').value).toBe('0.5 CPUs');
    expect(check(hardened(), 'capabilities').value).toBe('none added; all dropped');
  });

  it('warns about root, missing limits, a writable root and no no-new-privileges on a default container', () => {
    const findings = assessHardening(defaults());
    const warned = findings.filter((f) => f.level === 'warn').map((f) => f.id);
    expect(warned).toEqual(['user', 'no-new-privileges', 'read-only-rootfs', 'memory', 'cpu', 'pids']);
    expect(check(defaults(), 'user').value).toBe('root (no user set)');
    expect(check(defaults(), 'pids').value).toBe('none');
  });

  it('reads root from an empty user, uid 0 or the name root, with or without a group', () => {
    for (const user of ['', '0', 'root', '0:0', 'root:wheel']) {
      expect(check({ ...defaults(), Config: { User: user } }, 'user').level).toBe('warn');
    }
    for (const user of ['1000', 'app', '1000:0', 'nobody:nogroup']) {
      expect(check({ ...defaults(), Config: { User: user } }, 'user')).toEqual({ value: user, level: 'ok' });
    }
  });

  it('calls a privileged container a risk for privileges, seccomp and AppArmor at once', () => {
    const doc = defaults();
    doc.HostConfig.Privileged = true;
    doc.AppArmorProfile = 'unconfined';
    expect(check(doc, 'privileged')).toEqual({ value: 'yes', level: 'risk' });
    expect(check(doc, 'seccomp')).toEqual({ value: 'none (privileged)', level: 'risk' });
    expect(check(doc, 'apparmor')).toEqual({ value: 'unconfined (privileged)', level: 'risk' });
  });

  it('names added capabilities, with or without the CAP_ prefix, and calls the dangerous ones a risk', () => {
    const withCaps = (caps: string[]) => ({ ...defaults(), HostConfig: { ...defaults().HostConfig, CapAdd: caps } });
    expect(check(withCaps(['CAP_NET_ADMIN']), 'capabilities')).toEqual({ value: 'NET_ADMIN', level: 'risk' });
    expect(check(withCaps(['ALL']), 'capabilities').level).toBe('risk');
    expect(check(withCaps(['sys_admin']), 'capabilities')).toEqual({ value: 'SYS_ADMIN', level: 'risk' });
    expect(check(withCaps(['CHOWN', 'NET_BIND_SERVICE']), 'capabilities')).toEqual({
      value: 'CHOWN, NET_BIND_SERVICE',
      level: 'warn',
    });
  });

  it('reads no-new-privileges in the = and : spellings and honours an explicit false', () => {
    const withOpt = (opt: string[]) => ({ ...defaults(), HostConfig: { ...defaults().HostConfig, SecurityOpt: opt } });
    expect(check(withOpt(['no-new-privileges']), 'no-new-privileges').level).toBe('ok');
    expect(check(withOpt(['no-new-privileges=true']), 'no-new-privileges').level).toBe('ok');
    expect(check(withOpt(['no-new-privileges:false']), 'no-new-privileges')).toEqual({
      value: 'not set',
      level: 'warn',
    });
  });

  it('calls seccomp or AppArmor unconfined a risk and a custom seccomp profile ok', () => {
    const withOpt = (opt: string[]) => ({ ...defaults(), HostConfig: { ...defaults().HostConfig, SecurityOpt: opt } });
    expect(check(withOpt(['seccomp=unconfined']), 'seccomp')).toEqual({ value: 'unconfined', level: 'risk' });
    expect(check(withOpt(['seccomp:unconfined']), 'seccomp').level).toBe('risk');
    expect(check(withOpt(['seccomp={"defaultAction":"SCMP_ACT_ERRNO"}']), 'seccomp')).toEqual({
      value: 'custom profile',
      level: 'ok',
    });
    expect(check(withOpt(['apparmor=unconfined']), 'apparmor')).toEqual({ value: 'unconfined', level: 'risk' });
    expect(check({ ...defaults(), AppArmorProfile: '' }, 'apparmor').level).toBe('warn');
  });

  it('reads CPU limits from a quota or a cpuset, and does not count shares as a limit', () => {
    const withHost = (host: object) => ({ ...defaults(), HostConfig: { ...defaults().HostConfig, ...host } });
    expect(check(withHost({ CpuQuota: 50_000, CpuPeriod: 100_000 }), 'cpu')).toEqual({
      value: '0.5 CPUs (quota)',
      level: 'ok',
    });
    expect(check(withHost({ CpusetCpus: '0-1' }), 'cpu')).toEqual({ value: 'cpuset 0-1', level: 'ok' });
    expect(check(withHost({ CpuShares: 512 }), 'cpu')).toEqual({ value: 'none (only 512 shares)', level: 'warn' });
    expect(check(withHost({ PidsLimit: -1 }), 'pids').level).toBe('warn');
    expect(check(withHost({ Memory: 1536 * 1024 * 1024 }), 'memory')).toEqual({ value: '1.5 GiB', level: 'ok' });
  });

  it('warns about ports on all interfaces, once per port although IPv4 and IPv6 are both listed', () => {
    const doc = defaults();
    doc.NetworkSettings.Ports = {
      '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '32768' }],
      '81/tcp': [
        { HostIp: '0.0.0.0', HostPort: '8081' },
        { HostIp: '::', HostPort: '8081' },
      ],
      '9000/tcp': null,
    };
    expect(check(doc, 'ports')).toEqual({
      value: '127.0.0.1:32768->80/tcp, *:8081->81/tcp (* = all interfaces)',
      level: 'warn',
    });
  });

  it('falls back to the requested bindings of a stopped container, where an empty HostIp means all interfaces', () => {
    const doc = defaults();
    doc.HostConfig.PortBindings = { '443/tcp': [{ HostIp: '', HostPort: '443' }] };
    expect(check(doc, 'ports')).toEqual({ value: '*:443->443/tcp (* = all interfaces)', level: 'warn' });
    expect(
      check({ ...defaults(), HostConfig: { ...defaults().HostConfig, PublishAllPorts: true } }, 'ports').level,
    ).toBe('warn');
    expect(check(hardened(), 'ports')).toEqual({ value: '127.0.0.1:8080->8080/tcp', level: 'ok' });
  });

  it('calls the Docker socket a risk whether it comes from Mounts or from Binds', () => {
    const mounted = {
      ...defaults(),
      Mounts: [{ Type: 'bind', Source: '/var/run/docker.sock', Destination: '/var/run/docker.sock', RW: true }],
    };
    expect(check(mounted, 'docker-socket')).toEqual({
      value: '/var/run/docker.sock -> /var/run/docker.sock (rw)',
      level: 'risk',
    });
    const bound = {
      ...defaults(),
      HostConfig: { ...defaults().HostConfig, Binds: ['/run/docker.sock:/docker.sock:ro'] },
    };
    expect(check(bound, 'docker-socket')).toEqual({ value: '/run/docker.sock -> /docker.sock (ro)', level: 'risk' });
  });

  it('calls system folders and writable paths inside them a risk, a read-only file in /etc a warning', () => {
    const withMounts = (...mounts: Array<[string, boolean]>) => ({
      ...defaults(),
      Mounts: mounts.map(([source, rw]) => ({ Type: 'bind', Source: source, Destination: `/host${source}`, RW: rw })),
    });
    expect(check(withMounts(['/', false]), 'host-mounts').level).toBe('risk');
    expect(check(withMounts(['/etc', false]), 'host-mounts').level).toBe('risk');
    expect(check(withMounts(['/proc/sys', true]), 'host-mounts').level).toBe('risk');
    expect(check(withMounts(['/etc/localtime', false]), 'host-mounts')).toEqual({
      value: '/etc/localtime -> /host/etc/localtime (ro)',
      level: 'warn',
    });
    expect(check(withMounts(['/srv/app', true]), 'host-mounts').level).toBe('warn');
    expect(check(withMounts(['/srv/config', false]), 'host-mounts').level).toBe('ok');
    // The risky mount is named first, whatever the order in the document.
    expect(check(withMounts(['/srv/app', true], ['/root', false]), 'host-mounts').value).toBe(
      '/root -> /host/root (ro), /srv/app -> /host/srv/app (rw)',
    );
  });

  it('ignores named volumes, which live in the engine and not at a host path', () => {
    const doc = {
      ...defaults(),
      Mounts: [
        { Type: 'volume', Name: 'data', Source: '/var/lib/docker/volumes/data/_data', Destination: '/data', RW: true },
      ],
    };
    doc.HostConfig.Binds = ['data:/data'];
    expect(check(doc, 'host-mounts')).toEqual({ value: 'none', level: 'ok' });
  });

  it('names every namespace shared with the host', () => {
    const doc = {
      ...defaults(),
      HostConfig: { ...defaults().HostConfig, NetworkMode: 'host', PidMode: 'host', IpcMode: 'host' },
    };
    expect(check(doc, 'host-namespaces')).toEqual({ value: 'host network, PID, IPC', level: 'risk' });
    expect(
      check({ ...defaults(), HostConfig: { ...defaults().HostConfig, IpcMode: 'container:abc' } }, 'host-namespaces')
        .level,
    ).toBe('ok');
  });

  it('returns no rows for something that is not an inspect document, and survives missing fields', () => {
    expect(assessHardening(undefined)).toEqual([]);
    expect(assessHardening('inspect')).toEqual([]);
    expect(assessHardening({ Id: 'x' })).toEqual([]);
    expect(assessHardening({ Config: {} })).toHaveLength(14);
    expect(
      assessHardening({ Config: null, HostConfig: { CapAdd: 'NET_ADMIN', Mounts: 'x', SecurityOpt: [7] } }),
    ).toHaveLength(14);
  });
});
