import { z } from 'zod';
import { messageOf, UsageError } from '../errors.js';
import { mask } from '../secrets.js';
import { optionalText } from './inputs.js';
import { defineStep, type StepContext } from './types.js';

/**
 * alert.webhook: POST one JSON document to a URL (Slack-compatible: `text` is the message).
 * With no URL configured the step succeeds as "skipped" instead of failing: the built-in playbooks
 * alert as a matter of course, and a team that has no webhook must still be able to contain.
 * A configured webhook that fails (network, non-2xx, timeout) fails the step.
 */

export const webhookEnv = 'FIREBREAK_WEBHOOK_URL';

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

/** The webhook from the environment; undefined when unset. A bad one is bad input, named by the variable. */
export function envWebhookUrl(env: NodeJS.ProcessEnv = process.env): WebhookUrl | undefined {
  const text = env[webhookEnv]?.trim();
  if (!text) return undefined;
  try {
    return parseWebhookUrl(text, webhookEnv);
  } catch (error) {
    throw new UsageError(`${messageOf(error)}; fix it or unset it (alerts are then skipped)`);
  }
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

export const webhookStep = defineStep({
  type: 'alert.webhook',
  description: `POST a JSON alert (text, incident, playbook, target) to a webhook; without one (url or ${webhookEnv}) it is skipped`,
  input: z
    .object({
      text: optionalText.describe('The message (templated); default: "firebreak <playbook> on <container>"'),
      url: urlInput.describe(`An http(s) URL; default: the ${webhookEnv} environment variable`),
      details: z.record(z.string(), z.unknown()).optional(),
    })
    .strict(),
  outputs: ['status', 'sent'],
  // Bounds the whole POST through ctx.signal: an alert must never hold up containment for long.
  timeout: 10_000,
  mutates: false,
  // A real run plans first: a bad FIREBREAK_WEBHOOK_URL is exit 2 before anything changes.
  plan: ({ text, url }) => {
    const fromEnv = url ? undefined : envWebhookUrl();
    const target = url
      ? url.shown
      : fromEnv
        ? `$${webhookEnv} (${fromEnv.shown})`
        : `nowhere (no url, ${webhookEnv} unset: skipped)`;
    return `alert ${target}${text ? `: "${text}"` : ''}`;
  },
  async run(ctx, { text, url: given, details }) {
    const url = webhookUrl(given);
    if (!url) {
      return {
        changed: false,
        outputs: { sent: false },
        note: `skipped: no webhook configured (set ${webhookEnv} or with.url)`,
      };
    }
    const message = text ?? `firebreak ${ctx.playbook ?? 'run'} on ${ctx.target.name} (incident ${ctx.incident})`;
    const { url: address, headers } = url.request();
    const response = await fetch(address, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'firebreak', ...headers },
      body: JSON.stringify(webhookPayload(ctx, message, details)),
      signal: ctx.signal,
      // A redirect could carry the alert somewhere nobody configured.
      redirect: 'error',
    }).catch((error: Error & { cause?: { code?: string; message?: string } }) => {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      throw new Error(`webhook ${url}: ${url.scrub(error.cause?.code ?? error.cause?.message ?? error.message)}`);
    });
    // The receiver's answer may echo what it was sent to (the token in the path): scrubbed too.
    const body = url.scrub((await response.text()).slice(0, 200).trim());
    if (!response.ok) {
      throw new Error(`webhook ${url} answered ${response.status} ${response.statusText}${body ? `: ${body}` : ''}`);
    }
    return { outputs: { status: response.status, sent: true }, note: `posted to ${url} (${response.status})` };
  },
});
