/**
 * Names that look secret. Their values are masked wherever firebreak writes for people (report,
 * journal); the raw inspect document keeps them, which is why the bundle is mode 0600.
 */
const secretName = /PASSWORD|PASSWD|TOKEN|SECRET|KEY|CREDENTIAL|PRIVATE|AUTH/i;
export const mask = '****';

export function looksSecret(name: string): boolean {
  return secretName.test(name);
}

/** "DB_PASSWORD=hunter2" -> "DB_PASSWORD=****". */
export function maskEnvEntry(entry: string): string {
  const eq = entry.indexOf('=');
  if (eq <= 0) return entry;
  return looksSecret(entry.slice(0, eq)) ? `${entry.slice(0, eq + 1)}${mask}` : entry;
}

/** A deep copy with secret-looking keys and NAME=value strings masked. */
export function maskSecrets(value: unknown, depth = 0): unknown {
  if (depth > 20) return value;
  if (typeof value === 'string') return maskEnvEntry(value);
  if (Array.isArray(value)) return value.map((item) => maskSecrets(item, depth + 1));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        key,
        looksSecret(key) && (typeof item === 'string' || typeof item === 'number') ? mask : maskSecrets(item, depth + 1),
      ]),
    );
  }
  return value;
}
