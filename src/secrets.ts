/**
 * Masking of secrets wherever firebreak writes for people (report, journal, terminal); the raw
 * inspect document keeps them, which is why the bundle is mode 0600. Three kinds are caught:
 *
 * - values of names that look secret: DB_PASSWORD, GITHUB_TOKEN, GITHUB_PAT, PGPASS, STRIPE_SK,
 *   SENTRY_DSN, DB_PWD, AWS_SECRET_ACCESS_KEY, GOOGLE_CREDENTIALS, BASIC_AUTH, SSH_PRIVATE, and
 *   SLACK_WEBHOOK_URL (a webhook URL carries its token in the path);
 * - the user information of a URL in any value: postgres://u:pw@h/db -> postgres://u:****@h/db,
 *   and https://key@o.ingest/1 -> https://****@o.ingest/1 (a DSN's key is its user name);
 * - `password=`, `pwd=`, `token=`, `secret=` (any secret-looking name) inside a value, as in a
 *   JDBC or ODBC connection string.
 *
 * Deliberately not secret: PATH (PAT is a word of its own, as in GITHUB_PAT), PASSTHROUGH and
 * COMPASS (PASS must end a word, as in PGPASS or DB_PASS), PWD and OLDPWD (the shell's working
 * folder; DB_PWD is secret), and a DISK or TASK name (SK must be a word of its own).
 */

export const mask = '****';

/** Anywhere in a name, in any case. */
const secretPart = /PASSWORD|PASSWD|PASSPHRASE|TOKEN|SECRET|KEY|CREDENTIAL|PRIVATE|AUTH|WEBHOOK/i;
/** Whole words of a name (split at _ - . and camelCase). */
const secretWords = new Set(['PASS', 'PAT', 'PWD', 'PW', 'SK', 'DSN', 'JWT', 'COOKIE']);
/** The shell's own variables that happen to contain a secret word. */
const notSecret = new Set(['PWD', 'OLDPWD']);

export function looksSecret(name: string): boolean {
  if (secretPart.test(name)) return true;
  if (notSecret.has(name.toUpperCase())) return false;
  return words(name).some(
    (word) => secretWords.has(word) || (word.endsWith('PASS') && word !== 'BYPASS' && word !== 'COMPASS'),
  );
}

/** Inside a connection string, Pwd= is the password (ODBC), not the shell's working folder. */
function looksSecretInValue(name: string): boolean {
  return looksSecret(name) || name.toUpperCase() === 'PWD';
}

function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((word) => word.toUpperCase());
}

// scheme://userinfo@host: greedy up to the last @ before the path, as URL parsers read it.
const urlUserinfo = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#]*)@/gi;
// name=value inside a value or a line of text; a bare value ends at a separator of query strings,
// connection strings and prose.
const innerPair = /([A-Za-z_][\w.-]*)=("[^"]*"|'[^']*'|[^\s&;,'"]*)/g;
/** NAME=value as in an environment entry: a name without spaces. */
const envEntry = /^[^\s=]+=/;

/** URL user information and secret-looking name=value pairs inside `text`, masked. */
export function maskText(text: string): string {
  return text
    .replace(urlUserinfo, (_, scheme: string, userinfo: string) => {
      const colon = userinfo.indexOf(':');
      return colon === -1 ? `${scheme}${mask}@` : `${scheme}${userinfo.slice(0, colon)}:${mask}@`;
    })
    .replace(innerPair, (pair, name: string, value: string) =>
      value !== '' && looksSecretInValue(name) ? `${name}=${mask}` : pair,
    );
}

/** "DB_PASSWORD=hunter2" -> "DB_PASSWORD=****"; any other entry keeps its name and has its value masked inside. */
export function maskEnvEntry(entry: string): string {
  if (!envEntry.test(entry)) return maskText(entry);
  const eq = entry.indexOf('=');
  const name = entry.slice(0, eq);
  return looksSecret(name) ? `${name}=${mask}` : `${name}=${maskText(entry.slice(eq + 1))}`;
}

/** A deep copy with secret-looking keys, NAME=value strings and URL user information masked. */
export function maskSecrets(value: unknown, depth = 0): unknown {
  if (depth > 20) return value;
  if (typeof value === 'string') return maskEnvEntry(value);
  if (Array.isArray(value)) return value.map((item) => maskSecrets(item, depth + 1));
  if (value && typeof value === 'object') {
    // What JSON would write (a Date, a value that redacts itself) is what gets masked.
    const toJSON = (value as { toJSON?: () => unknown }).toJSON;
    if (typeof toJSON === 'function') return maskSecrets(toJSON.call(value), depth + 1);
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        key,
        looksSecret(key) && (typeof item === 'string' || typeof item === 'number')
          ? mask
          : maskSecrets(item, depth + 1),
      ]),
    );
  }
  return value;
}

// scheme://authority then a path, query or fragment: what a webhook keeps its token in.
const urlWithPath = /\b([a-z][a-z0-9+.-]*:\/\/)(?:[^\s/?#@]*@)?([^\s/?#]+)([/?#][^\s'"]*)?/gi;

/**
 * A URL shown as its scheme and host: user information and everything after the host (Slack,
 * Teams and Discord keep the webhook's token in the path, other services in the query) become
 * `****`. `https://hooks.slack.com/services/T0/B0/xyz` -> `https://hooks.slack.com/****`.
 */
export function maskUrlPaths(text: string): string {
  return text.replace(urlWithPath, (whole, scheme: string, host: string, rest: string | undefined) => {
    const hidden = whole.includes('@') || (rest !== undefined && rest !== '/');
    return hidden ? `${scheme}${host}/${mask}` : whole;
  });
}

/**
 * Playbook params as run.json, the journal and the report record them. A param may be a webhook
 * URL (`url: "${{ params.hook }}"`), and nothing says which, so every URL in a value keeps only
 * its scheme and host; the value of a param whose name looks secret is masked whole.
 */
export function maskParams(params: Record<string, unknown>): Record<string, unknown> {
  const shown = (value: unknown): unknown =>
    typeof value === 'string' ? maskText(maskUrlPaths(value)) : Array.isArray(value) ? value.map(shown) : value;
  return Object.fromEntries(
    Object.entries(params).map(([name, value]) => [
      name,
      looksSecret(name) && value !== '' && value !== undefined ? mask : shown(value),
    ]),
  );
}
