// The per-container circuit breaker: a container that keeps turning unhealthy is recovered at
// most --max-recoveries times per --window, then watch alerts once and leaves it alone, and a
// restarted watch remembers that (the state is in the evidence folder).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from './bundle-files.js';
import { docker, startContainer, useHarness } from './harness.js';
import { engineActions, healthy, runLabel, startWatch, waitForLine } from './watch-helpers.js';

useHarness();

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** A webhook receiver on 127.0.0.1 that keeps what it was sent. */
async function receiver(): Promise<{ url: string; alerts: Array<{ text?: string }> }> {
  const alerts: Array<{ text?: string }> = [];
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      alerts.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as { text?: string });
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, alerts };
}

describe('firebreak watch circuit breaker', () => {
  it('stops recovering a flapping container after --max-recoveries, alerts once, and stays open across a watch restart', async () => {
    const label = runLabel();
    const evidence = tempDir();
    const hook = await receiver();
    // Healthy for a moment after every start, then unhealthy: it flaps for as long as it is restarted.
    const container = await startContainer({
      ...healthy,
      cmd: ['sh', '-c', 'touch /tmp/ok; sleep 3; rm /tmp/ok; exec sleep 3600'],
      labels: { [label.key]: label.value },
    });
    const since = new Date();
    const args = ['--label', label.flag, '--evidence-dir', evidence, '--max-recoveries', '2', '--window', '10m'];
    const env = { FIREBREAK_WEBHOOK_URL: hook.url };
    const first = await startWatch(args, env);
    try {
      await waitForLine(first, new RegExp(`${container.name}: breaker open: was recovered 2 times`), 120_000);
      await waitForLine(first, new RegExp(`${container.name}: escalation succeeded`));
    } finally {
      first.kill('SIGTERM');
    }
    expect((await first.done).code).toBe(0);
    expect(hook.alerts.map((a) => a.text)).toEqual([
      expect.stringContaining(`${container.name} was recovered 2 times`),
    ]);
    const restarts = (await engineActions(docker(), container.id, since)).filter((a) => a === 'restart');
    expect(restarts).toHaveLength(2);

    // The container is still unhealthy; a new watch lists it at start and must leave it alone.
    const second = await startWatch(args, env);
    try {
      await waitForLine(second, new RegExp(`${container.name}: skipped: breaker open until`));
    } finally {
      second.kill('SIGTERM');
    }
    expect((await second.done).code).toBe(0);
    expect((await engineActions(docker(), container.id, since)).filter((a) => a === 'restart')).toHaveLength(2);
    expect(hook.alerts).toHaveLength(1);
  }, 200_000);
});
