import { z } from 'zod';
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

/** The URL to post to: the step's input, else the environment; undefined when neither is set. */
export function webhookUrl(input: string | undefined, env: NodeJS.ProcessEnv = process.env): URL | undefined {
  const text = input?.trim() || env[webhookEnv]?.trim();
  if (!text) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`webhook URL "${redact(text)}" is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`webhook URL must be http(s), not ${url.protocol}`);
  return url;
}

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

/** Webhook URLs carry their secret in the path (Slack, Teams): only the origin goes into records. */
export function redact(url: string | URL): string {
  try {
    return new URL(url).origin;
  } catch {
    return '<unparsable>';
  }
}

export const webhookStep = defineStep({
  type: 'alert.webhook',
  description: `POST a JSON alert (text, incident, playbook, target) to a webhook; without one (url or ${webhookEnv}) it is skipped`,
  input: z
    .object({
      text: optionalText.describe('The message (templated); default: "firebreak <playbook> on <container>"'),
      url: optionalText.describe(`Default: the ${webhookEnv} environment variable`),
      details: z.record(z.string(), z.unknown()).optional(),
    })
    .strict(),
  outputs: ['status', 'sent'],
  // Bounds the whole POST through ctx.signal: an alert must never hold up containment for long.
  timeout: 10_000,
  mutates: false,
  plan: ({ text, url }) => {
    const target = url ? redact(url) : process.env[webhookEnv] ? `$${webhookEnv}` : `nowhere (no url, ${webhookEnv} unset: skipped)`;
    return `alert ${target}${text ? `: "${text}"` : ''}`;
  },
  async run(ctx, { text, url: given, details }) {
    const url = webhookUrl(given);
    if (!url) {
      return { changed: false, outputs: { sent: false }, note: `skipped: no webhook configured (set ${webhookEnv} or with.url)` };
    }
    const message = text ?? `firebreak ${ctx.playbook ?? 'run'} on ${ctx.target.name} (incident ${ctx.incident})`;
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'firebreak' },
      body: JSON.stringify(webhookPayload(ctx, message, details)),
      signal: ctx.signal,
      // A redirect could carry the alert somewhere nobody configured.
      redirect: 'error',
    }).catch((error: Error & { cause?: { code?: string; message?: string } }) => {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      throw new Error(`webhook ${redact(url)}: ${error.cause?.code ?? error.cause?.message ?? error.message}`);
    });
    const body = (await response.text()).slice(0, 200).trim();
    if (!response.ok) {
      throw new Error(`webhook ${redact(url)} answered ${response.status} ${response.statusText}${body ? `: ${body}` : ''}`);
    }
    return { outputs: { status: response.status, sent: true }, note: `posted to ${redact(url)} (${response.status})` };
  },
});
