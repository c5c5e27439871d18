import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { messageOf, UsageError } from '../errors.js';
import { mask } from '../secrets.js';
import { optionalText } from './inputs.js';
import { defineStep, type StepContext } from './types.js';

/**
 * alert.webhook: POST one JSON document to a URL, shaped for the receiver (`--webhook-format`):
 * json (firebreak's document; `text` is the message), slack (`text`) or discord (`content`).
 * With no URL configured the step succeeds as "skipped" instead of failing: the built-in playbooks
 * alert as a matter of course, and a team that has no webhook must still be able to contain.
 * Delivery is retried a bounded number of times; an alert that still fails is recorded (the
 * step's note and outputs, a warning in the journal) and never changes the playbook's result:
 * a recovery that worked did work, and one that failed must not read as an alerting problem.
 */

export const webhookEnv = 'FIREBREAK_WEBHOOK_URL';
/** Names a file holding the URL, as Docker and Kubernetes secrets are mounted. */
export const webhookFileEnv = 'FIREBREAK_WEBHOOK_URL_FILE';
export const webhookFormatEnv = 'FIREBREAK_WEBHOOK_FORMAT';
export const webhookFormats = ['json', 'slack', 'discord'] as const;
export type WebhookFormat = (typeof webhookFormats)[number];

export interface WebhookPayload {
  text: string;
  source: 'firebreak';
  incident: string;
  playbook?: string;
  run: string;
  target: { id: string; name: string; image: string };
  at: string;
  details?: Record<string, unknown>;
}

/**
 * A webhook URL is a secret: Slack and Teams keep the token in the path, some receivers take
 * user:password. It shows itself as scheme and host only, wherever it goes: messages, run.json
 * (JSON.stringify calls toJSON), the journal (maskSecrets reads toJSON) and the console.
 */
export class WebhookUrl {
  readonly #url: URL;

  constructor(url: URL) {
    this.#url = url;
  }

  /** scheme://host[:port]: all that is ever shown or recorded. */
  get shown(): string {
    return this.#url.origin;
  }

  toString(): string {
    return this.shown;
  }

  toJSON(): string {
    return this.shown;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.shown;
  }

  /**
   * Where to POST and how to authenticate. fetch refuses a URL that holds credentials (and echoes
   * the whole URL in its error), so user:password travels as HTTP Basic authentication instead,
   * as curl sends it.
   */
  request(): { url: URL; headers: Record<string, string> } {
    const url = new URL(this.#url);
    if (!url.username && !url.password) return { url, headers: {} };
    const credentials = `${safeDecode(url.username)}:${safeDecode(url.password)}`;
    url.username = '';
    url.password = '';
    return { url, headers: { authorization: `Basic ${Buffer.from(credentials).toString('base64')}` } };
  }

  /** `text` (an error, a receiver's answer) with every secret part of the URL taken out. */
  scrub(text: string): string {
    const url = this.#url;
    const bare = this.request().url;
    const whole = [url.href, bare.href];
    const parts = [
      `${url.pathname}${url.search}${url.hash}`,
      url.password,
      url.username,
      ...url.pathname.split('/'),
      ...url.searchParams.values(),
    ];
    // A short user name, a path of "/" or a short path segment would scrub ordinary words out of the message.
    const secrets = [
      ...whole,
      ...parts.flatMap((part) => [part, safeDecode(part)]).filter((part) => part.length >= 4),
    ].sort((a, b) => b.length - a.length);
    let scrubbed = text;
    for (const part of new Set(secrets)) scrubbed = scrubbed.split(part).join(whole.includes(part) ? this.shown : mask);
    return scrubbed;
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Parses a webhook URL; the error names `where` and never echoes the URL. */
export function parseWebhookUrl(text: string, where = 'webhook URL'): WebhookUrl {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new Error(`${where} is not a URL (expected http:// or https://)`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new Error(`${where} must be http(s), not ${url.protocol}`);
  return new WebhookUrl(url);
}

/**
 * The webhook from the environment: FIREBREAK_WEBHOOK_URL, else the file FIREBREAK_WEBHOOK_URL_FILE
 * names; undefined when neither is set. A bad one is bad input, named by the variable.
 */
export function envWebhookUrl(env: NodeJS.ProcessEnv = process.env): WebhookUrl | undefined {
  let text = env[webhookEnv]?.trim();
  let where = webhookEnv;
  const file = env[webhookFileEnv]?.trim();
  if (!text && file) {
    try {
      text = readFileSync(file, 'utf8').trim();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? messageOf(error);
      throw new UsageError(`${webhookFileEnv}: cannot read ${file} (${code}); fix it or unset it`);
    }
    where = `the URL in ${webhookFileEnv} (${file})`;
    if (!text) throw new UsageError(`${where} is empty; fix it or unset ${webhookFileEnv}`);
  }
  if (!text) return undefined;
  try {
    return parseWebhookUrl(text, where);
  } catch (error) {
    throw new UsageError(`${messageOf(error)}; fix it or unset it (alerts are then skipped)`);
  }
}

/** The receiver's format: the step's input, else FIREBREAK_WEBHOOK_FORMAT, else json. */
export function webhookFormat(input: WebhookFormat | undefined, env: NodeJS.ProcessEnv = process.env): WebhookFormat {
  if (input) return input;
  const text = env[webhookFormatEnv]?.trim();
  if (!text) return 'json';
  if ((webhookFormats as readonly string[]).includes(text)) return text as WebhookFormat;
  throw new UsageError(`${webhookFormatEnv}=${text}: expected one of ${webhookFormats.join(', ')}`);
}

/** Discord refuses a `content` over 2000 characters. */
const discordLimit = 2000;

/** The body a receiver of `format` reads: Slack reads `text`, Discord `content`. */
export function formatPayload(payload: WebhookPayload, format: WebhookFormat): Record<string, unknown> {
  if (format === 'slack') return { text: payload.text };
  if (format === 'discord') {
    const content = payload.text.length > discordLimit ? `${payload.text.slice(0, discordLimit - 1)}…` : payload.text;
    return { content, username: 'firebreak' };
  }
  return { ...payload };
}

/** The URL to post to: the step's input, else the environment; undefined when neither is set. */
export function webhookUrl(
  input: WebhookUrl | undefined,
  env: NodeJS.ProcessEnv = process.env,
): WebhookUrl | undefined {
  return input ?? envWebhookUrl(env);
}

/** The `url` input: checked when the playbook loads, or when a template fills it in. */
const urlInput = optionalText.transform((text, ctx) => {
  if (text === undefined) return undefined;
  try {
    return parseWebhookUrl(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: messageOf(error) });
    return z.NEVER;
  }
});

export function webhookPayload(
  ctx: Pick<StepContext, 'incident' | 'playbook' | 'runId' | 'target'>,
  text: string,
  details?: Record<string, unknown>,
  at = new Date(),
): WebhookPayload {
  return {
    text,
    source: 'firebreak',
    incident: ctx.incident,
    ...(ctx.playbook ? { playbook: ctx.playbook } : {}),
    run: ctx.runId,
    target: { id: ctx.target.id, name: ctx.target.name, image: ctx.target.image },
    at: at.toISOString(),
    ...(details && Object.keys(details).length ? { details } : {}),
  };
}

/** Bounded delivery: three tries, 0.5s then 1s apart, each at most 4s, all within the step's timeout. */
export const deliveryTries = 3;
const tryTimeoutMs = 4_000;
export const deliveryDelaysMs = [500, 1000];

export interface Delivery {
  sent: boolean;
  /** The receiver's HTTP status of the last try; absent when none answered. */
  status?: number;
  tries: number;
  /** Why it was not delivered, scrubbed of the URL's secrets. */
  error?: string;
}

/**
 * POSTs `body` to `url`, retrying network errors, timeouts, 429 and 5xx (a receiver that is
 * restarting), not other answers (a 404 will not turn into a 200). Never throws for delivery,
 * only for `signal` (Ctrl-C, the step's timeout), so no alert can fail the run.
 */
export async function deliver(url: WebhookUrl, body: unknown, signal: AbortSignal): Promise<Delivery> {
  const { url: address, headers } = url.request();
  let last: Delivery = { sent: false, tries: 0 };
  for (let n = 1; n <= deliveryTries; n++) {
    if (n > 1) await pause(deliveryDelaysMs[n - 2] ?? 1000, signal);
    const attempt = AbortSignal.any([signal, AbortSignal.timeout(tryTimeoutMs)]);
    try {
      const response = await fetch(address, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'firebreak', ...headers },
        body: JSON.stringify(body),
        signal: attempt,
        // A redirect could carry the alert somewhere nobody configured.
        redirect: 'error',
      });
      // The receiver's answer may echo what it was sent to (the token in the path): scrubbed too.
      const text = url.scrub((await response.text()).slice(0, 200).trim());
      if (response.ok) return { sent: true, status: response.status, tries: n };
      last = {
        sent: false,
        status: response.status,
        tries: n,
        error: `webhook ${url} answered ${response.status} ${response.statusText}${text ? `: ${text}` : ''}`,
      };
      if (response.status !== 429 && response.status < 500) return last;
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
      const why = attempt.aborted
        ? `no answer within ${tryTimeoutMs / 1000}s`
        : (cause?.code ?? cause?.message ?? messageOf(error));
      last = { sent: false, tries: n, error: `webhook ${url}: ${url.scrub(why)}` };
    }
  }
  return last;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export const webhookStep = defineStep({
  type: 'alert.webhook',
  description: `POST an alert (json, slack or discord) to a webhook (url, ${webhookEnv} or ${webhookFileEnv}); without one it is skipped; a failed delivery is recorded, never a failed run`,
  input: z
    .object({
      text: optionalText.describe('The message (templated); default: "firebreak <playbook> on <container>"'),
      url: urlInput.describe(`An http(s) URL; default: the ${webhookEnv} environment variable`),
      format: z
        .enum(webhookFormats)
        .optional()
        .describe(`json, slack or discord; default: ${webhookFormatEnv}, else json`),
      details: z.record(z.string(), z.unknown()).optional(),
    })
    .strict(),
  outputs: ['status', 'sent', 'tries', 'error'],
  // Bounds the whole delivery, retries included: an alert must never hold up containment for long.
  timeout: 20_000,
  mutates: false,
  // A real run plans first: a bad FIREBREAK_WEBHOOK_URL is exit 2 before anything changes.
  plan: ({ text, url, format }) => {
    const fromEnv = url ? undefined : envWebhookUrl();
    const target = url
      ? url.shown
      : fromEnv
        ? `$${webhookEnv} (${fromEnv.shown})`
        : `nowhere (no url, ${webhookEnv} unset: skipped)`;
    const shape = webhookFormat(format);
    return `alert ${target}${shape === 'json' ? '' : ` as ${shape}`}${text ? `: "${text}"` : ''}`;
  },
  async run(ctx, { text, url: given, format, details }) {
    const url = webhookUrl(given);
    if (!url) {
      return {
        changed: false,
        outputs: { sent: false },
        note: `skipped: no webhook configured (set ${webhookEnv} or with.url)`,
      };
    }
    const message = text ?? `firebreak ${ctx.playbook ?? 'run'} on ${ctx.target.name} (incident ${ctx.incident})`;
    const shape = webhookFormat(format);
    const sent = await deliver(url, formatPayload(webhookPayload(ctx, message, details), shape), ctx.signal);
    const tries = `${sent.tries} ${sent.tries === 1 ? 'try' : 'tries'}`;
    if (!sent.sent) {
      ctx.log.warn({ error: sent.error, tries: sent.tries }, 'alert not delivered');
      return {
        changed: false,
        outputs: { sent: false, tries: sent.tries, error: sent.error, ...(sent.status ? { status: sent.status } : {}) },
        note: `warning: alert not delivered after ${tries}: ${sent.error}`,
      };
    }
    return {
      outputs: { status: sent.status, sent: true, tries: sent.tries },
      note: `posted to ${url} as ${shape} (${sent.status}${sent.tries > 1 ? `, ${tries}` : ''})`,
    };
  },
});
