/**
 * SSH signatures of bundle files in the SSHSIG format (OpenSSH PROTOCOL.sshsig), the same bytes
 * `ssh-keygen -Y sign -n firebreak` writes, so `ssh-keygen -Y verify` checks them: a verifier
 * we did not write. Signed with node:crypto; no process is spawned.
 */
import { createHash, sign, verify } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { UsageError, messageOf } from '../errors.js';
import { fingerprintOf, publicKeyFromBlob, type SshPublicKey, type SshSigningKey } from './ssh-key.js';
import { WireReader, wireString, wireUint32 } from './ssh-wire.js';

export const SIGNATURE_NAMESPACE = 'firebreak';
const MAGIC = Buffer.from('SSHSIG', 'latin1');
const HASH = 'sha512';
const BEGIN = '-----BEGIN SSH SIGNATURE-----';
const END = '-----END SSH SIGNATURE-----';

export function signaturePathOf(bundle: string): string {
  return `${bundle}.sig`;
}

/** What the key actually signs: the magic, the namespace, the hash algorithm and the message's hash. */
function signedData(namespace: string, hashAlgorithm: string, digest: Buffer): Buffer {
  return Buffer.concat([MAGIC, wireString(namespace), wireString(''), wireString(hashAlgorithm), wireString(digest)]);
}

export async function hashFile(path: string, algorithm: string): Promise<Buffer> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest();
}

/** The armored signature of `digest` (the sha512 of the file), as ssh-keygen -Y sign prints it. */
export function signDigest(key: SshSigningKey, digest: Buffer, namespace = SIGNATURE_NAMESPACE): string {
  const raw = sign(null, signedData(namespace, HASH, digest), key.private);
  const blob = Buffer.concat([
    MAGIC,
    wireUint32(1),
    wireString(key.public.blob),
    wireString(namespace),
    wireString(''),
    wireString(HASH),
    wireString(Buffer.concat([wireString(key.public.type), wireString(raw)])),
  ]);
  const lines = blob.toString('base64').match(/.{1,70}/g) ?? [];
  return `${BEGIN}\n${lines.join('\n')}\n${END}\n`;
}

/** Writes `<bundle>.sig` whole or not at all (a rename), and returns its path. */
export async function signBundleFile(bundle: string, key: SshSigningKey): Promise<string> {
  const armored = signDigest(key, await hashFile(bundle, HASH));
  const path = signaturePathOf(bundle);
  const temp = `${path}.tmp-${process.pid}`;
  await writeFile(temp, armored, { mode: 0o600 });
  await rename(temp, path);
  return path;
}

export interface ParsedSignature {
  publicKey: SshPublicKey;
  namespace: string;
  hashAlgorithm: string;
  signature: Buffer;
}

export function parseSignature(text: string): ParsedSignature {
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (start === -1 || end < start) throw new Error('has no BEGIN/END SSH SIGNATURE armor');
  const blob = Buffer.from(text.slice(start + BEGIN.length, end).replace(/\s+/g, ''), 'base64');
  const reader = new WireReader(blob, 'the signature');
  if (!reader.bytes(MAGIC.length).equals(MAGIC)) throw new Error('does not start with SSHSIG');
  const version = reader.uint32();
  if (version !== 1) throw new Error(`is SSHSIG version ${version}; only 1 is known`);
  const publicKey = publicKeyFromBlob(reader.string());
  const namespace = reader.text();
  reader.string(); // reserved
  const hashAlgorithm = reader.text();
  const inner = new WireReader(reader.string(), 'the signature value');
  const type = inner.text();
  if (type !== publicKey.type) throw new Error(`is a ${type} signature made with a ${publicKey.type} key`);
  return { publicKey, namespace, hashAlgorithm, signature: inner.string() };
}

export interface AllowedSigner {
  principals: string[];
  namespaces?: string[];
  type: string;
  blob: Buffer;
  line: number;
}

/**
 * `allowed_signers` (ssh-keygen(1), ALLOWED SIGNERS): principals, optional options, key type and
 * base64 key, optional comment. Certificate authorities are not supported and are skipped.
 */
export function parseAllowedSigners(text: string): AllowedSigner[] {
  const signers: AllowedSigner[] = [];
  text.split(/\r?\n/).forEach((rawLine, index) => {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = splitFields(line);
    const principals = fields.shift()!;
    let options: string | undefined;
    if (fields[0] && !/^(ssh-|ecdsa-|sk-)/.test(fields[0])) options = fields.shift();
    const [type, base64] = fields;
    if (!type || !base64) return;
    const optionList = options ? splitOptions(options) : [];
    if (optionList.some((o) => o.toLowerCase() === 'cert-authority')) return;
    const namespaces = optionList.find((o) => /^namespaces=/i.test(o));
    signers.push({
      principals: unquote(principals).split(','),
      ...(namespaces ? { namespaces: unquote(namespaces.slice('namespaces='.length)).split(',') } : {}),
      type,
      blob: Buffer.from(base64, 'base64'),
      line: index + 1,
    });
  });
  return signers;
}

/** Space-separated fields, where a double-quoted stretch keeps its spaces. */
function splitFields(line: string): string[] {
  return line.match(/(?:"[^"]*"|[^\s"])+/g) ?? [];
}

function splitOptions(options: string): string[] {
  return options.match(/(?:"[^"]*"|[^,"])+/g) ?? [];
}

function unquote(text: string): string {
  return text.replace(/"/g, '');
}

export interface SignatureCheck {
  /** present: a .sig lies beside the bundle. */
  present: boolean;
  /** checked: allowed signers were given and the signature was compared with them. */
  checked: boolean;
  ok: boolean;
  path: string;
  fingerprint?: string;
  principals?: string[];
  problem?: string;
}

/** Checks `<bundle>.sig` against the bundle's bytes and, when given, an allowed_signers file. */
export async function checkSignature(bundle: string, allowedSignersPath?: string): Promise<SignatureCheck> {
  const path = signaturePathOf(bundle);
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  const allowed = allowedSignersPath === undefined ? undefined : await readAllowedSigners(allowedSignersPath);
  if (text === undefined) {
    const needed = allowed !== undefined;
    return {
      present: false,
      checked: needed,
      ok: !needed,
      path,
      ...(needed ? { problem: `${path} is missing, and --allowed-signers asks for a signature` } : {}),
    };
  }
  let parsed: ParsedSignature;
  try {
    parsed = parseSignature(text);
  } catch (error) {
    return { present: true, checked: true, ok: false, path, problem: `${path} ${messageOf(error)}` };
  }
  const fingerprint = fingerprintOf(parsed.publicKey.blob);
  const result: SignatureCheck = { present: true, checked: allowed !== undefined, ok: false, path, fingerprint };
  const fail = (problem: string) => ({ ...result, problem });
  if (parsed.namespace !== SIGNATURE_NAMESPACE)
    return fail(`${path} is for namespace ${parsed.namespace}, not ${SIGNATURE_NAMESPACE}`);
  if (parsed.hashAlgorithm !== 'sha512' && parsed.hashAlgorithm !== 'sha256')
    return fail(`${path} uses hash ${parsed.hashAlgorithm}; SSHSIG allows sha256 and sha512`);
  const digest = await hashFile(bundle, parsed.hashAlgorithm);
  const data = signedData(parsed.namespace, parsed.hashAlgorithm, digest);
  if (!verify(null, data, parsed.publicKey.key, parsed.signature))
    return fail(`${path} does not match ${bundle}: the bundle or the signature was changed`);
  if (allowed === undefined) return { ...result, ok: true };
  const matches = allowed.filter(
    (s) => s.blob.equals(parsed.publicKey.blob) && (!s.namespaces || s.namespaces.includes(SIGNATURE_NAMESPACE)),
  );
  if (matches.length === 0)
    return fail(`${path} was made with key ${fingerprint}, which ${allowedSignersPath} does not allow`);
  return { ...result, ok: true, principals: [...new Set(matches.flatMap((s) => s.principals))] };
}

async function readAllowedSigners(path: string): Promise<AllowedSigner[]> {
  const text = await readFile(path, 'utf8').catch((error: unknown) => {
    throw new UsageError(`cannot read allowed signers file ${path}: ${messageOf(error)}`);
  });
  const signers = parseAllowedSigners(text);
  if (signers.length === 0)
    throw new UsageError(`${path} lists no signers; each line is: PRINCIPAL ssh-ed25519 BASE64KEY`);
  return signers;
}
