import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { envWebhookUrl, parseWebhookUrl, webhookPayload, webhookStep, webhookUrl } from '../../src/steps/alert.js';
import { maskSecrets } from '../../src/secrets.js';

const ctx = {
  incident: 'INC-7',
  playbook: 'quarantine',
  runId: 'run-1',
  target: { id: 'abc123', name: 'web-1', image: 'nginx:1', imageId: '', labels: {} },
};

describe('webhookUrl', () => {
  it('takes the step input before the environment', () => {
    const env = { FIREBREAK_WEBHOOK_URL: 'https://env.example/hook' };
    expect(webhookUrl(parseWebhookUrl('https://input.example/hook'), env)?.shown).toBe('https://input.example');
    expect(webhookUrl(undefined, env)?.shown).toBe('https://env.example');
  });

  it('answers undefined when neither is set, which the step turns into a skip', () => {
    expect(webhookUrl(undefined, {})).toBeUndefined();
    expect(webhookUrl(undefined, { FIREBREAK_WEBHOOK_URL: '  ' })).toBeUndefined();
  });

  it('refuses what is not an http(s) URL without echoing it', () => {
    expect(() => parseWebhookUrl('not a url')).toThrow(/^webhook URL is not a URL/);
    expect(() => parseWebhookUrl('file:///etc/passwd')).toThrow(/^webhook URL must be http\(s\), not file:$/);
  });

  it('names FIREBREAK_WEBHOOK_URL when the environment holds a bad one, as a usage error', () => {
    const bad = () => envWebhookUrl({ FIREBREAK_WEBHOOK_URL: 'file:///tmp/x?token=s3cr3t' });
    expect(bad).toThrow(/^FIREBREAK_WEBHOOK_URL must be http\(s\), not file:; fix it or unset it/);
    expect(bad).toThrow(expect.objectContaining({ exitCode: 2 }));
    expect(bad).not.toThrow(/s3cr3t/);
  });
});

describe('WebhookUrl', () => {
  const url = parseWebhookUrl('http://u:pw9xyz@hooks.example:8443/services/T0/B0/secret-token?sig=abcdef123');

  it('shows, serialises and logs as its scheme and host only', () => {
    expect(String(url)).toBe('http://hooks.example:8443');
    expect(`${url}`).toBe('http://hooks.example:8443');
    expect(JSON.stringify({ url })).toBe('{"url":"http://hooks.example:8443"}');
    expect(inspect({ url })).toBe('{ url: http://hooks.example:8443 }');
    expect(maskSecrets({ input: { url } })).toEqual({ input: { url: 'http://hooks.example:8443' } });
  });

  it('posts to the URL without credentials and sends them as Basic authentication', () => {
    const { url: address, headers } = url.request();
    expect(address.href).toBe('http://hooks.example:8443/services/T0/B0/secret-token?sig=abcdef123');
    expect(headers.authorization).toBe(`Basic ${Buffer.from('u:pw9xyz').toString('base64')}`);
    expect(parseWebhookUrl('https://h.example/x').request().headers).toEqual({});
  });

  it('scrubs the URL, its path, query, password and long path segments out of a message', () => {
    const message =
      'Request cannot be constructed from a URL that includes credentials: http://u:pw9xyz@hooks.example:8443/services/T0/B0/secret-token?sig=abcdef123';
    expect(url.scrub(message)).toBe(
      'Request cannot be constructed from a URL that includes credentials: http://hooks.example:8443',
    );
    expect(url.scrub('no such token: secret-token (pw9xyz, abcdef123)')).toBe('no such token: **** (****, ****)');
    // A short user name is left: scrubbing "u" would take every u out of the message.
    expect(url.scrub('unknown user')).toBe('unknown user');
  });
});

describe('webhookPayload', () => {
  it('carries the text, incident, playbook, run and target', () => {
    const at = new Date('2026-11-29T03:15:00Z');
    expect(webhookPayload(ctx, 'contained', undefined, at)).toEqual({
      text: 'contained',
      source: 'firebreak',
      incident: 'INC-7',
      playbook: 'quarantine',
      run: 'run-1',
      target: { id: 'abc123', name: 'web-1', image: 'nginx:1' },
      at: '2026-11-29T03:15:00.000Z',
    });
  });

  it('adds details only when there are some', () => {
    expect(webhookPayload(ctx, 't', { severity: 'high' }).details).toEqual({ severity: 'high' });
    expect(webhookPayload(ctx, 't', {})).not.toHaveProperty('details');
  });
});

describe('alert.webhook input', () => {
  it('takes text, url and details and nothing else', () => {
    expect(webhookStep.input.safeParse({ text: 'hi', url: 'https://x.example', details: { a: 1 } }).success).toBe(true);
    expect(webhookStep.input.safeParse({}).success).toBe(true);
    expect(webhookStep.input.safeParse({ url: '' }).success).toBe(true);
    expect(webhookStep.input.safeParse({ channel: '#ops' }).success).toBe(false);
  });

  it('refuses a file:// or other non-http(s) URL', () => {
    for (const url of ['file:///etc/passwd', 'ftp://h/x', 'gopher://h', 'javascript:alert(1)']) {
      const parsed = webhookStep.input.safeParse({ url });
      expect(parsed.success, url).toBe(false);
      expect(parsed.error?.issues[0]?.message).toMatch(/must be http\(s\)/);
    }
  });

  it('plans with the scheme and host only', () => {
    const input = webhookStep.input.parse({ url: 'https://u:pw@hooks.example/services/T0/secret' });
    expect(webhookStep.plan(input, ctx.target as never)).toBe('alert https://hooks.example');
  });
});
