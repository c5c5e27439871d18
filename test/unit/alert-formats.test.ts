import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  deliver,
  envWebhookUrl,
  formatPayload,
  parseWebhookUrl,
  webhookFormat,
  webhookPayload,
} from '../../src/steps/alert.js';
import { useTempDirs } from './temp-dirs.js';

const tempDir = useTempDirs('firebreak-alert-');

const payload = webhookPayload(
  {
    incident: 'INC-1',
    playbook: 'auto-recover',
    runId: 'r1',
    target: { id: 'abc', name: 'web-1', image: 'app', imageId: '', labels: {} },
  },
  'web-1 could not be recovered',
  undefined,
  new Date('2026-12-02T10:00:00Z'),
);

describe('alert formats', () => {
  it("sends firebreak's whole document as json, with the message in text", () => {
    expect(formatPayload(payload, 'json')).toMatchObject({
      text: 'web-1 could not be recovered',
      incident: 'INC-1',
      source: 'firebreak',
    });
  });

  it('gives Slack text and Discord content', () => {
    expect(formatPayload(payload, 'slack')).toEqual({ text: 'web-1 could not be recovered' });
    expect(formatPayload(payload, 'discord')).toEqual({
      content: 'web-1 could not be recovered',
      username: 'firebreak',
    });
  });

  it('cuts a Discord message to the 2000 characters Discord takes', () => {
    const long = formatPayload({ ...payload, text: 'x'.repeat(5000) }, 'discord') as { content: string };
    expect(long.content).toHaveLength(2000);
  });

  it('takes the format from FIREBREAK_WEBHOOK_FORMAT and refuses an unknown one as bad input', () => {
    expect(webhookFormat(undefined, {})).toBe('json');
    expect(webhookFormat(undefined, { FIREBREAK_WEBHOOK_FORMAT: 'slack' })).toBe('slack');
    expect(webhookFormat('discord', { FIREBREAK_WEBHOOK_FORMAT: 'slack' })).toBe('discord');
    expect(() => webhookFormat(undefined, { FIREBREAK_WEBHOOK_FORMAT: 'teams' })).toThrow(
      expect.objectContaining({ exitCode: 2 }),
    );
  });
});

describe('the webhook URL from a file', () => {
  it('reads FIREBREAK_WEBHOOK_URL_FILE as Docker secrets are mounted, the variable first', async () => {
    const file = join(await tempDir(), 'hook');
    writeFileSync(file, 'https://hooks.example.com/services/T0/B0/token-in-file\n');
    expect(envWebhookUrl({ FIREBREAK_WEBHOOK_URL_FILE: file })?.shown).toBe('https://hooks.example.com');
    expect(
      envWebhookUrl({ FIREBREAK_WEBHOOK_URL: 'http://other.example', FIREBREAK_WEBHOOK_URL_FILE: file })?.shown,
    ).toBe('http://other.example');
  });

  it('names the variable and the file, never the URL, when the file cannot be used', async () => {
    const missing = join(await tempDir(), 'nothing-here');
    expect(() => envWebhookUrl({ FIREBREAK_WEBHOOK_URL_FILE: missing })).toThrow(
      expect.objectContaining({
        exitCode: 2,
        message: expect.stringContaining(`FIREBREAK_WEBHOOK_URL_FILE: cannot read ${missing}`),
      }),
    );
    const bad = join(await tempDir(), 'bad');
    writeFileSync(bad, 'ftp://secret-host/token');
    expect(() => envWebhookUrl({ FIREBREAK_WEBHOOK_URL_FILE: bad })).toThrow(
      expect.not.objectContaining({ message: expect.stringContaining('token') }),
    );
  });
});

describe('delivery', () => {
  const closers: Array<() => void> = [];
  afterEach(() => closers.splice(0).forEach((close) => close()));

  async function receiver(statuses: number[]) {
    const seen: number[] = [];
    const server = createServer((req, res) => {
      req.resume().on('end', () => {
        const status = statuses[Math.min(seen.length, statuses.length - 1)]!;
        seen.push(status);
        res.writeHead(status).end(`said ${status}`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => server.close());
    return {
      url: parseWebhookUrl(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hook/secret-path-1`),
      seen,
    };
  }

  it('retries a 5xx and stops at the first success', async () => {
    const r = await receiver([503, 200]);
    expect(await deliver(r.url, { text: 'x' }, AbortSignal.timeout(10_000))).toEqual({
      sent: true,
      status: 200,
      tries: 2,
    });
  });

  it("gives up after three tries, says why without the URL's path, and never throws", async () => {
    const r = await receiver([500]);
    const result = await deliver(r.url, { text: 'x' }, AbortSignal.timeout(10_000));
    expect(result).toMatchObject({ sent: false, status: 500, tries: 3 });
    expect(result.error).toMatch(/answered 500/);
    expect(result.error).not.toContain('secret-path-1');
  });

  it('does not retry an answer that will not change, such as 404', async () => {
    const r = await receiver([404]);
    expect(await deliver(r.url, { text: 'x' }, AbortSignal.timeout(10_000))).toMatchObject({ sent: false, tries: 1 });
  });
});
