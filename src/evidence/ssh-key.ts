/**
 * OpenSSH keys read without ssh-keygen: the `openssh-key-v1` private key file (unencrypted), the
 * one-line public key form, and the `SHA256:` fingerprint exactly as `ssh-keygen -l` prints it.
 * Ed25519 only: node:crypto signs with it directly, and it is what `ssh-keygen` makes by default.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { UsageError, messageOf } from '../errors.js';
import { WireReader, wireString } from './ssh-wire.js';

export const ED25519 = 'ssh-ed25519';

export interface SshPublicKey {
  type: string;
  /** The wire blob: string type, string key (what fingerprints and SSHSIG carry). */
  blob: Buffer;
  key: KeyObject;
}

export interface SshSigningKey {
  path: string;
  comment: string;
  public: SshPublicKey;
  private: KeyObject;
  fingerprint: string;
}

const MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');

/** Reads and checks a private key file; every problem is a UsageError naming the file and the fix. */
export async function readSigningKey(path: string): Promise<SshSigningKey> {
  const text = await readFile(path, 'utf8').catch((error: unknown) => {
    throw new UsageError(`cannot read signing key ${path}: ${messageOf(error)}`);
  });
  try {
    return { path, ...parsePrivateKey(text) };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`signing key ${path}: ${messageOf(error)}`);
  }
}

export function parsePrivateKey(text: string): Omit<SshSigningKey, 'path'> {
  const body = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(text)?.[1];
  if (body === undefined) {
    const other = /-----BEGIN ([A-Z ]+)-----/.exec(text)?.[1];
    throw new Error(
      other
        ? `is a ${other}, not an OpenSSH private key; make one with \`ssh-keygen -t ed25519\``
        : 'is not an OpenSSH private key (no BEGIN OPENSSH PRIVATE KEY line)',
    );
  }
  const raw = Buffer.from(body.replace(/\s+/g, ''), 'base64');
  if (!raw.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('does not start with openssh-key-v1');
  const file = new WireReader(raw.subarray(MAGIC.length), 'the key file');
  const cipher = file.text();
  file.text(); // kdf name
  file.string(); // kdf options
  if (cipher !== 'none')
    throw new UsageError(
      `the signing key is encrypted (${cipher}); firebreak cannot ask for a passphrase: use a key without one, ` +
        'kept where only the collector can read it (ssh-keygen -p -N "" -f KEY removes it from a copy)',
    );
  const count = file.uint32();
  if (count !== 1) throw new Error(`holds ${count} keys; give a file with one`);
  const publicBlob = file.string();
  const secret = new WireReader(file.string(), 'the private section');
  if (secret.uint32() !== secret.uint32()) throw new Error('its check words differ: the file is damaged');
  const type = secret.text();
  if (type !== ED25519) throw new UsageError(`signing key type ${type} is not supported; use an ed25519 key`);
  const publicKey = secret.string();
  const both = secret.string();
  const comment = secret.text();
  if (publicKey.length !== 32 || both.length !== 64 || !both.subarray(32).equals(publicKey))
    throw new Error('its ed25519 key has the wrong length or does not match itself');
  const parsedPublic = publicKeyFromBlob(publicBlob);
  const seed = both.subarray(0, 32);
  const privateKey = createPrivateKey({
    key: { kty: 'OKP', crv: 'Ed25519', d: seed.toString('base64url'), x: publicKey.toString('base64url') },
    format: 'jwk',
  });
  return { comment, public: parsedPublic, private: privateKey, fingerprint: fingerprintOf(publicBlob) };
}

/** From the wire blob (string type, string key). */
export function publicKeyFromBlob(blob: Buffer): SshPublicKey {
  const reader = new WireReader(blob, 'the public key');
  const type = reader.text();
  if (type !== ED25519) throw new Error(`public key type ${type} is not supported; only ${ED25519} is`);
  const raw = reader.string();
  if (raw.length !== 32) throw new Error('the ed25519 public key is not 32 bytes');
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  return { type, blob, key };
}

export function ed25519Blob(raw: Buffer): Buffer {
  return Buffer.concat([wireString(ED25519), wireString(raw)]);
}

/** `SHA256:` and unpadded base64 of the blob's SHA-256, as `ssh-keygen -l` prints it. */
export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}
