import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { tempDir } from './bundle-files.js';
import { REPO_ROOT, runCli } from './cli.js';
import { docker, FIXTURE_IMAGE, useHarness } from './harness.js';

useHarness();

const schema = JSON.parse(readFileSync(`${REPO_ROOT}/schemas/doctor.v1.json`, 'utf8'));
const validate = new Ajv2020({ allErrors: true }).compile(schema);

interface Report {
  status: string;
  exitCode: number;
  endpoint: { label: string; source: string };
  checks: Array<{ id: string; status: string; detail: string; fix?: string }>;
}

function reportOf(stdout: string): Report {
  const report = JSON.parse(stdout) as Report;
  expect(validate(report), JSON.stringify(validate.errors)).toBe(true);
  return report;
}

const statusOf = (report: Report, id: string) => report.checks.find((c) => c.id === id)?.status;

/** What the engine itself saw happen, since `since`, to objects matching `filters`: "container pause", ... */
async function engineEvents(since: number, filters: Record<string, string[]>): Promise<string[]> {
  const stream = (await docker().getEvents({
    since,
    until: Math.ceil(Date.now() / 1000) + 1,
    filters,
  } as never)) as unknown as NodeJS.ReadableStream;
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { Type: string; Action: string })
    .map((e) => `${e.Type} ${e.Action}`);
}

describe('firebreak doctor', () => {
  it('reports a healthy test engine, exercising every permission on objects it removes again', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    // A dozen engine calls one after another, each slow on a loaded shared engine: a generous bound.
    const result = await runCli(['doctor', '--image', FIXTURE_IMAGE, '--evidence-dir', tempDir(), '--json'], {
      timeoutMs: 110_000,
    });
    const report = reportOf(result.stdout);
    expect(result.code, result.stderr).toBe(0);
    expect(report.exitCode).toBe(0);
    expect(report.endpoint).toEqual({ label: 'unix:///var/run/docker.sock', source: 'default socket' });
    expect(report.checks.find((c) => c.id === 'engine.version')?.detail).toMatch(/^Docker \S+, API 1\.\d+/);
    for (const id of ['create', 'disconnect', 'connect', 'pause', 'update', 'archive', 'remove'])
      expect(statusOf(report, `permission.${id}`), id).toBe('succeeded');
    expect(statusOf(report, 'evidence')).toBe('succeeded');
    expect(report.checks.find((c) => c.id === 'evidence')?.detail).toMatch(/writable, [\d.]+ [KMGT]iB free/);
    expect(statusOf(report, 'node')).toBe('succeeded');

    // The engine's own view: each action happened, and nothing of the doctor's is left.
    const name = /container (firebreak-doctor-[0-9a-f]{8})/.exec(
      report.checks.find((c) => c.id === 'permission.create')!.detail,
    )![1]!;
    const containerEvents = await engineEvents(since, { label: [`firebreak.doctor`], container: [name] });
    for (const e of ['create', 'start', 'pause', 'unpause', 'update', 'destroy'])
      expect(containerEvents).toContain(`container ${e}`);
    const networkEvents = await engineEvents(since, { type: ['network'], network: [name] });
    for (const e of ['create', 'disconnect', 'connect', 'destroy']) expect(networkEvents).toContain(`network ${e}`);
    const filters = JSON.stringify({ label: ['firebreak.doctor'], name: [name] });
    expect(await docker().listContainers({ all: true, filters })).toEqual([]);
    expect(await docker().listNetworks({ filters })).toEqual([]);
  }, 120_000);

  it('fails with exit 3 on an unreachable host, naming the endpoint and that --host chose it', async () => {
    const result = await runCli(['doctor', '--host', 'tcp://127.0.0.1:1', '--evidence-dir', tempDir()]);
    expect(result.code).toBe(3);
    expect(result.stdout).toMatch(/^failed +engine +unreachable at tcp:\/\/127\.0\.0\.1:1 \(chosen by --host\)/m);
    expect(result.stdout).toMatch(/fix: check the address given with --host/);
    // The checks that need no engine are still made.
    expect(result.stdout).toMatch(/^ok +evidence folder/m);
    expect(result.stdout).toMatch(/^ok +Node\.js/m);
  });

  it('says DOCKER_HOST chose the endpoint when it did, and warns without failing that no webhook is set', async () => {
    const result = await runCli(['doctor', '--evidence-dir', tempDir(), '--json'], {
      env: {
        DOCKER_HOST: 'unix:///nonexistent/docker.sock',
        FIREBREAK_WEBHOOK_URL: undefined,
        FIREBREAK_WEBHOOK_URL_FILE: undefined,
      },
    });
    expect(result.code).toBe(3);
    const report = reportOf(result.stdout);
    expect(report.endpoint).toEqual({ label: 'unix:///nonexistent/docker.sock', source: 'DOCKER_HOST' });
    expect(report.status).toBe('failed');
    expect(statusOf(report, 'permissions')).toBe('skipped');
    const webhook = report.checks.find((c) => c.id === 'webhook');
    expect(webhook).toMatchObject({ status: 'warning', detail: expect.stringMatching(/not configured/) });
    expect(webhook?.fix).toMatch(/FIREBREAK_WEBHOOK_URL/);
  });

  it('fails, creating nothing, when the image named with --image is not on the engine', async () => {
    const result = await runCli(['doctor', '--image', 'firebreak-test/absent:never', '--evidence-dir', tempDir()]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /^failed +permissions +not tried: --image firebreak-test\/absent:never is not on this engine/m,
    );
    expect(result.stdout).not.toMatch(/permission: create/);
  });

  it('sends one test alert to the webhook with --send-test-alert and reports its answer', async () => {
    const received: Array<{ body: string; path: string }> = [];
    const server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c));
      req.on('end', () => {
        received.push({ body, path: req.url ?? '' });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/T0K3N-secret`;
    try {
      const result = await runCli(
        ['doctor', '--host', 'tcp://127.0.0.1:1', '--evidence-dir', tempDir(), '--send-test-alert'],
        { env: { FIREBREAK_WEBHOOK_URL: url } },
      );
      expect(result.stdout).toMatch(
        /^ok +webhook +configured: http:\/\/127\.0\.0\.1:\d+ from FIREBREAK_WEBHOOK_URL; test alert posted/m,
      );
      expect(result.stdout + result.stderr).not.toContain('T0K3N');
      expect(received).toHaveLength(1);
      expect(received[0]!.path).toBe('/hooks/T0K3N-secret');
      expect(JSON.parse(received[0]!.body)).toMatchObject({
        source: 'firebreak',
        text: expect.stringMatching(/test alert/),
      });
    } finally {
      server.close();
    }
  });
});
