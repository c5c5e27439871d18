/**
 * The ssh host key check, as OpenSSH does it for the docker CLI (StrictHostKeyChecking=yes):
 * dockerode's ssh transport (docker-modem -> ssh2) accepts any host key unless told otherwise, so
 * a containment run over ssh:// could be answered by whoever sits between firebreak and the host,
 * and report "isolated" for a container that was never touched. The key the server shows must be
 * in ~/.ssh/known_hosts or /etc/ssh/ssh_known_hosts (plain or hashed host names, `[host]:port`
 * for another port than 22, `*` and `?` patterns, `!` negations, @revoked); an unknown key and a
 * changed key are refused, each with one line that names the host and the fix.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface KnownHostsFile {
  /** As messages show it: "~/.ssh/known_hosts". */
  shown: string;
  path: string;
}

interface Entry {
  file: KnownHostsFile;
  line: number;
  marker?: 'revoked' | 'cert-authority';
  patterns: string;
  type: string;
  key: Buffer;
}

/** The host key check of one ssh:// endpoint, handed to ssh2 as `hostVerifier`. */
export interface HostKeyCheck {
  /** ssh2 calls this with the server's key blob during the handshake; false ends the handshake. */
  verify(key: Buffer): boolean;
  /** Host key algorithms, the types known_hosts holds for this host first (as OpenSSH orders them). */
  algorithms: string[];
  /** Why the last key shown was refused, as the one line to print; undefined while none was. */
  refusal?: string;
}

/** The files OpenSSH reads by default (UserKnownHostsFile, GlobalKnownHostsFile). */
export function knownHostsFiles(env: NodeJS.ProcessEnv = process.env): KnownHostsFile[] {
  const home = env.HOME || homedir();
  return [
    { shown: '~/.ssh/known_hosts', path: join(home, '.ssh', 'known_hosts') },
    { shown: '~/.ssh/known_hosts2', path: join(home, '.ssh', 'known_hosts2') },
    { shown: '/etc/ssh/ssh_known_hosts', path: '/etc/ssh/ssh_known_hosts' },
    { shown: '/etc/ssh/ssh_known_hosts2', path: '/etc/ssh/ssh_known_hosts2' },
  ];
}

// ssh2's own list (constants.js DEFAULT_SERVER_HOST_KEY): what is tried when known_hosts says nothing.
const defaultAlgorithms = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];
/** A known_hosts key type and the host key algorithms that prove it. */
const algorithmsOf = (type: string) => (type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type]);

/** The check for `host`:`port`, from the known_hosts files as they are now. */
export function hostKeyCheck(host: string, port: number, files: KnownHostsFile[] = knownHostsFiles()): HostKeyCheck {
  const name = hostPattern(host, port);
  const entries = files
    .flatMap(readEntries)
    .filter((e) => e.marker !== 'cert-authority' && matchesHost(e.patterns, name));
  const known = entries.filter((e) => !e.marker);
  const preferred = [...new Set(known.flatMap((e) => algorithmsOf(e.type)))].filter((a) =>
    defaultAlgorithms.includes(a),
  );
  const check: HostKeyCheck = {
    algorithms: [...preferred, ...defaultAlgorithms.filter((a) => !preferred.includes(a))],
    verify(key: Buffer) {
      check.refusal = refusalFor(key, name, host, port, entries, files);
      return check.refusal === undefined;
    },
  };
  return check;
}

function refusalFor(
  key: Buffer,
  name: string,
  host: string,
  port: number,
  entries: Entry[],
  files: KnownHostsFile[],
): string | undefined {
  const type = keyType(key);
  const shown = `${type} key ${fingerprint(key)}`;
  const revoked = entries.find((e) => e.marker === 'revoked' && sameKey(e.key, key));
  if (revoked) return `ssh: the host key of ${name} (${shown}) is marked @revoked in ${where(revoked)}: refusing it`;
  const known = entries.filter((e) => !e.marker);
  if (known.some((e) => sameKey(e.key, key))) return undefined;
  const changed = known.find((e) => e.type === type);
  if (changed) {
    return (
      `ssh: the host key of ${name} has CHANGED: it shows ${shown}, ${where(changed)} holds another; ` +
      'someone may be intercepting the connection, or the host was reinstalled: check the new fingerprint with its administrator, ' +
      `then remove that line (ssh-keygen -R '${name}') and add the new key`
    );
  }
  const scan = `ssh-keyscan ${port === 22 ? '' : `-p ${port} `}${host.includes(':') ? `'${host}'` : host} >> ~/.ssh/known_hosts`;
  const others = known.length
    ? ` (known_hosts holds only ${[...new Set(known.map((e) => e.type))].join(', ')} keys for it)`
    : '';
  return (
    `ssh: the host key of ${name} (${shown}) is not in ${files
      .filter((f) => !f.path.endsWith('2'))
      .map((f) => f.shown)
      .join(' or ')}${others}: ` + `check that fingerprint with the host's administrator, then add it with \`${scan}\``
  );
}

/** The name known_hosts files it under: `host` on port 22, `[host]:port` on any other. */
function hostPattern(host: string, port: number): string {
  return port === 22 ? host.toLowerCase() : `[${host.toLowerCase()}]:${port}`;
}

function where(entry: Entry): string {
  return `${entry.file.shown}:${entry.line}`;
}

function readEntries(file: KnownHostsFile): Entry[] {
  let text: string;
  try {
    text = readFileSync(file.path, 'utf8');
  } catch {
    return []; // A missing or unreadable file holds no keys, as for ssh.
  }
  const entries: Entry[] = [];
  text.split('\n').forEach((raw, index) => {
    const fields = raw.trim().split(/\s+/);
    if (!fields[0] || fields[0].startsWith('#')) return;
    let marker: Entry['marker'];
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority')
      marker = fields.shift()!.slice(1) as Entry['marker'];
    const [patterns, type, base64] = fields;
    if (!patterns || !type || !base64) return;
    const key = Buffer.from(base64, 'base64');
    // A line whose key blob does not start with its own type is damaged: ssh skips it too.
    if (key.length < 4 || keyType(key) !== type) return;
    entries.push({ file, line: index + 1, ...(marker ? { marker } : {}), patterns, type, key });
  });
  return entries;
}

/**
 * Whether a known_hosts host field names `name`: comma-separated patterns, each plain (with `*`
 * and `?`), negated with `!` (a match there rules the line out), or hashed as `|1|salt|hash`
 * (HMAC-SHA1 of the name, keyed with the salt).
 */
export function matchesHost(patterns: string, name: string): boolean {
  let matched = false;
  for (const pattern of patterns.split(',')) {
    if (pattern.startsWith('|1|')) {
      if (hashedMatch(pattern, name)) matched = true;
      continue;
    }
    const negated = pattern.startsWith('!');
    if (!wildcard(negated ? pattern.slice(1) : pattern).test(name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

function hashedMatch(pattern: string, name: string): boolean {
  const [, , salt, hash] = pattern.split('|');
  if (!salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

function wildcard(pattern: string): RegExp {
  const body = pattern
    .toLowerCase()
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** The first field of an ssh key blob: its type ("ssh-ed25519"). */
function keyType(key: Buffer): string {
  const length = key.readUInt32BE(0);
  return key.subarray(4, 4 + length).toString('latin1');
}

/** As ssh-keygen -l and ssh print it: SHA256:<base64 without padding>. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

function sameKey(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
