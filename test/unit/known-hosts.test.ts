// The known_hosts reading behind the ssh:// host key check (the engine-level cases, against a
// real SSH server, are in test/faults/security-ssh.test.ts).
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fingerprint, hostKeyCheck, matchesHost } from '../../src/docker/known-hosts.js';
import { tempDir } from '../engine/bundle-files.js';

/** An ed25519 public key as an ssh wire blob: string "ssh-ed25519", string key. */
function ed25519Blob(): Buffer {
  const der = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' });
  const raw = der.subarray(der.length - 32);
  const field = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return Buffer.concat([field(Buffer.from('ssh-ed25519')), field(raw)]);
}
const line = (host: string, key: Buffer, type = 'ssh-ed25519') => `${host} ${type} ${key.toString('base64')}`;

function hashed(name: string): string {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

function check(lines: string[], host = '10.0.0.5', port = 2222) {
  const path = join(tempDir('firebreak-kh-'), 'known_hosts');
  writeFileSync(path, lines.join('\n'));
  return hostKeyCheck(host, port, [
    { shown: '~/.ssh/known_hosts', path },
    { shown: '/etc/ssh/ssh_known_hosts', path: '/nonexistent/known_hosts' },
  ]);
}

describe('matchesHost', () => {
  it('reads plain names, [host]:port, lists, wildcards and negations, in any case', () => {
    expect(matchesHost('bastion,10.0.0.5', 'bastion')).toBe(true);
    expect(matchesHost('[10.0.0.5]:2222', '[10.0.0.5]:2222')).toBe(true);
    expect(matchesHost('10.0.0.5', '[10.0.0.5]:2222')).toBe(false);
    expect(matchesHost('*.example.com', 'web.example.com')).toBe(true);
    expect(matchesHost('web?.example.com', 'web1.example.com')).toBe(true);
    expect(matchesHost('*.example.com,!db.example.com', 'db.example.com')).toBe(false);
    expect(matchesHost('Bastion.Example', 'bastion.example')).toBe(true);
  });

  it('reads hashed names (|1|salt|hash), for [host]:port too', () => {
    expect(matchesHost(hashed('[10.0.0.5]:2222'), '[10.0.0.5]:2222')).toBe(true);
    expect(matchesHost(hashed('[10.0.0.5]:2222'), '[10.0.0.6]:2222')).toBe(false);
    expect(matchesHost(hashed('bastion'), 'bastion')).toBe(true);
  });
});

describe('hostKeyCheck', () => {
  const key = ed25519Blob();
  const old = ed25519Blob();

  it('accepts the key an entry holds, plain or hashed', () => {
    expect(check([line('[10.0.0.5]:2222', key)]).verify(key)).toBe(true);
    expect(check([line(hashed('[10.0.0.5]:2222'), key)]).verify(key)).toBe(true);
    expect(check([line('bastion', key)], 'bastion', 22).verify(key)).toBe(true);
  });

  it('refuses an unknown key with the fingerprint and the ssh-keyscan line, port 22 without -p', () => {
    const c = check([line('[10.0.0.9]:2222', key)]);
    expect(c.verify(key)).toBe(false);
    expect(c.refusal).toBe(
      `ssh: the host key of [10.0.0.5]:2222 (ssh-ed25519 key ${fingerprint(key)}) is not in ~/.ssh/known_hosts or /etc/ssh/ssh_known_hosts: ` +
        "check that fingerprint with the host's administrator, then add it with `ssh-keyscan -p 2222 10.0.0.5 >> ~/.ssh/known_hosts`",
    );
    const on22 = check([], 'bastion', 22);
    expect(on22.verify(key)).toBe(false);
    expect(on22.refusal).toMatch(/`ssh-keyscan bastion >> ~\/.ssh\/known_hosts`$/);
  });

  it('refuses a changed key, naming the file and line of the old one', () => {
    const c = check(['# comment', line('[10.0.0.5]:2222', old)]);
    expect(c.verify(key)).toBe(false);
    expect(c.refusal).toMatch(
      /^ssh: the host key of \[10\.0\.0\.5\]:2222 has CHANGED: it shows ssh-ed25519 key SHA256:\S+, ~\/\.ssh\/known_hosts:2 holds another; /,
    );
    expect(c.refusal).toMatch(/ssh-keygen -R '\[10\.0\.0\.5\]:2222'/);
  });

  it('refuses a key marked @revoked, and ignores @cert-authority lines and damaged lines', () => {
    const revoked = check([`@revoked ${line('*', key)}`, line('[10.0.0.5]:2222', key)]);
    expect(revoked.verify(key)).toBe(false);
    expect(revoked.refusal).toMatch(/is marked @revoked in ~\/\.ssh\/known_hosts:1/);
    expect(check([`@cert-authority ${line('*', key)}`]).verify(key)).toBe(false);
    expect(check(['[10.0.0.5]:2222 ssh-ed25519 bm90IGEga2V5', line('[10.0.0.5]:2222', key)]).verify(key)).toBe(true);
  });

  it('asks for the key types known_hosts holds for the host first', () => {
    const rsaBlob = Buffer.concat([Buffer.from([0, 0, 0, 7]), Buffer.from('ssh-rsa'), Buffer.from([0, 0, 0, 1, 1])]);
    expect(check([line('[10.0.0.5]:2222', rsaBlob, 'ssh-rsa')]).algorithms.slice(0, 4)).toEqual([
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa',
      'ssh-ed25519',
    ]);
    expect(check([]).algorithms[0]).toBe('ssh-ed25519');
  });
});
