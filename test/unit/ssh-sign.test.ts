// SSH signatures made with node:crypto, compared byte for byte with what ssh-keygen itself writes.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkSignature, hashFile, parseAllowedSigners, signBundleFile, signDigest } from '../../src/evidence/sign.js';
import { readSigningKey } from '../../src/evidence/ssh-key.js';
import { UsageError } from '../../src/errors.js';
import { useTempDirs } from './temp-dirs.js';

const tempDir = useTempDirs('firebreak-sign-');

async function newKey(dir: string, passphrase = '', comment = 'collector@example'): Promise<string> {
  const path = join(dir, 'key');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', comment, '-f', path]);
  return path;
}

describe('SSH signatures', () => {
  it('writes the same signature as ssh-keygen -Y sign, and the fingerprint ssh-keygen -l prints', async () => {
    const dir = await tempDir();
    const keyPath = await newKey(dir);
    const file = join(dir, 'bundle.tar');
    writeFileSync(file, 'evidence bytes\n');
    execFileSync('ssh-keygen', ['-q', '-Y', 'sign', '-f', keyPath, '-n', 'firebreak', file]);
    const theirs = readFileSync(`${file}.sig`, 'utf8');
    const key = await readSigningKey(keyPath);
    // Ed25519 is deterministic: one key and one message give one signature.
    expect(signDigest(key, await hashFile(file, 'sha512'))).toBe(theirs);
    expect(key.comment).toBe('collector@example');
    const listed = execFileSync('ssh-keygen', ['-l', '-f', `${keyPath}.pub`], { encoding: 'utf8' });
    expect(listed.split(' ')[1]).toBe(key.fingerprint);
  });

  it('checks a signature against allowed signers, and fails it for another key or a changed byte', async () => {
    const dir = await tempDir();
    const key = await readSigningKey(await newKey(dir));
    const file = join(dir, 'bundle.tar');
    writeFileSync(file, 'evidence bytes\n');
    await signBundleFile(file, key);
    const allowed = join(dir, 'allowed_signers');
    const publicLine = readFileSync(`${key.path}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(allowed, `# who may sign\nalice@example,bob@example namespaces="firebreak" ${publicLine}\n`);
    expect(await checkSignature(file, allowed)).toMatchObject({
      ok: true,
      checked: true,
      fingerprint: key.fingerprint,
      principals: ['alice@example', 'bob@example'],
    });

    const other = await readSigningKey(await newKey(await tempDir()));
    const otherLine = readFileSync(`${other.path}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(allowed, `carol@example ${otherLine}\n`);
    expect((await checkSignature(file, allowed)).problem).toMatch(/does not allow/);

    writeFileSync(file, 'evidence bytez\n');
    expect(await checkSignature(file)).toMatchObject({ ok: false, problem: expect.stringMatching(/does not match/) });
  });

  it('refuses an encrypted key and a key that is not OpenSSH with a usage error naming the file', async () => {
    const dir = await tempDir();
    const encrypted = await newKey(dir, 'secret');
    await expect(readSigningKey(encrypted)).rejects.toThrow(/encrypted/);
    await expect(readSigningKey(encrypted)).rejects.toBeInstanceOf(UsageError);
    const pem = join(dir, 'pem');
    writeFileSync(pem, '-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n');
    await expect(readSigningKey(pem)).rejects.toThrow(`signing key ${pem}: is a RSA PRIVATE KEY`);
  });

  it('reads allowed_signers lines with options, quotes and comments, and skips certificate authorities', () => {
    const signers = parseAllowedSigners(
      [
        '# comment',
        '',
        '"a@x,b@x" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== note',
        'c@x cert-authority ssh-ed25519 AAAA',
        'd@x namespaces="git,firebreak",valid-after="20200101" ssh-ed25519 AAAA',
      ].join('\n'),
    );
    expect(signers.map((s) => [s.principals, s.namespaces, s.line])).toEqual([
      [['a@x', 'b@x'], undefined, 3],
      [['d@x'], ['git', 'firebreak'], 5],
    ]);
  });
});
