import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import type Docker from 'dockerode';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bundleFromOutput, tempDir, unpackBundle } from './bundle-files.js';
import { runCli } from './cli.js';
import {
  containerLogs,
  createNetwork,
  docker,
  inspectContainer,
  startContainer,
  TEST_LABELS,
  uniqueName,
  useHarness,
} from './harness.js';

useHarness();

let evidence: string;
beforeEach(() => {
  evidence = tempDir();
});

// ---- a webhook on loopback, in this process; the CLI child posts to it -------------------------

interface Hook {
  url: string;
  posts: Array<{ path: string; contentType?: string; body: any }>;
}

const servers: Server[] = [];
afterEach(async () => {
  // closeAllConnections first: a hanging answer must not keep the server from closing.
  for (const server of servers) server.closeAllConnections();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function webhook(answer: { status?: number; body?: string; hang?: boolean } = {}): Promise<Hook> {
  const hook: Hook = { url: '', posts: [] };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      hook.posts.push({
        path: req.url ?? '',
        contentType: req.headers['content-type'],
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
      });
      if (answer.hang) return;
      res.writeHead(answer.status ?? 200, { 'content-type': 'text/plain' }).end(answer.body ?? 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  hook.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T0/B0/secret-token`;
  return hook;
}

async function firebreak(args: string[], webhookUrl?: string) {
  const result = await runCli([...args, '--evidence-dir', evidence], { env: { FIREBREAK_WEBHOOK_URL: webhookUrl } });
  expect(result.stderr).not.toMatch(/firebreak:/);
  return result;
}

function bagOf(stdout: string) {
  return unpackBundle(bundleFromOutput(stdout).path);
}

function stepsOf(stdout: string): Record<string, any> {
  return Object.fromEntries(
    bagOf(stdout)
      .json('data/run.json')
      .targets[0].steps.map((s: { id: string }) => [s.id, s]),
  );
}

// ---- volumes made here are removed here: the harness removes containers and networks -----------

const volumes: string[] = [];
afterAll(async () => {
  for (const name of volumes)
    await docker()
      .getVolume(name)
      .remove({ force: true })
      .catch(() => {});
});

async function createVolume(): Promise<string> {
  const name = uniqueName('fb-test-vol');
  await docker().createVolume({ Name: name, Labels: TEST_LABELS });
  volumes.push(name);
  return name;
}

const images: string[] = [];
afterAll(async () => {
  for (const id of images)
    await docker()
      .getImage(id)
      .remove({ force: true })
      .catch(() => {});
});

// ---- the playbooks ----------------------------------------------------------------------------

describe('unauthorized-access', () => {
  it('takes an evidence snapshot, isolates the container and posts an alert to the webhook', async () => {
    const net = await createNetwork();
    const c = await startContainer({ networks: [{ name: net.name, aliases: ['web'] }] });
    const hook = await webhook();
    const result = await firebreak(['run', 'unauthorized-access', c.name, '--incident', 'INC-UA-1'], hook.url);
    expect(result.code).toBe(0);

    expect(Object.keys((await inspectContainer(c.name)).NetworkSettings.Networks)).toEqual([]);
    const bag = bagOf(result.stdout);
    expect(bag.json(`data/targets/${c.name}/inspect.json`).Id).toBe(c.id);
    expect(bag.json(`data/targets/${c.name}/networks.json`).networks[0].network).toBe(net.name);

    expect(hook.posts).toHaveLength(1);
    const [post] = hook.posts;
    expect(post!.path).toBe('/services/T0/B0/secret-token');
    expect(post!.contentType).toBe('application/json');
    expect(post!.body).toMatchObject({
      text: `unauthorized access on ${c.name} (incident INC-UA-1): isolated from ${net.name}`,
      incident: 'INC-UA-1',
      playbook: 'unauthorized-access',
      source: 'firebreak',
      target: { id: c.id, name: c.name },
    });
    // The webhook's secret path stays out of the record and the output.
    expect(result.stdout).toMatch(/alert: posted to http:\/\/127\.0\.0\.1:\d+ as json \(200\)/);
    expect(bag.read('data/run.json')).not.toContain('secret-token');
  });

  it('skips the alert, and still succeeds, when no webhook is configured', async () => {
    const c = await startContainer();
    const result = await firebreak(['run', 'unauthorized-access', c.name]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /alert \(no change\): skipped: no webhook configured \(set FIREBREAK_WEBHOOK_URL or with\.url\)/,
    );
    expect(stepsOf(result.stdout).alert).toMatchObject({
      status: 'succeeded',
      changed: false,
      outputs: { sent: false },
    });
  });

  it('records an alert the webhook refused, after bounded retries, without failing the containment', async () => {
    const c = await startContainer();
    const hook = await webhook({ status: 500, body: 'boom' });
    const result = await firebreak(['run', 'unauthorized-access', c.name], hook.url);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /warning: alert not delivered after 3 tries: webhook http:\/\/127\.0\.0\.1:\d+ answered 500 Internal Server Error: boom/,
    );
    // A 5xx is a receiver that may be restarting: tried three times, then given up.
    expect(hook.posts).toHaveLength(3);
  });
});

describe('alert.webhook', () => {
  it('gives up on a webhook that does not answer when the step times out', async () => {
    const c = await startContainer();
    const hook = await webhook({ hang: true });
    const file = join(evidence, 'alert.yaml');
    writeFileSync(
      file,
      'name: alert-only\nsteps:\n  - id: alert\n    uses: alert.webhook\n    timeout: 1s\n    with: { text: "hello" }\n',
    );
    const started = Date.now();
    const result = await firebreak(['run', file, c.name], hook.url);
    expect(result.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(8000);
    expect(result.stdout).toMatch(/FAIL alert: alert\.webhook on \S+: timed out after 1\.00s/);
    expect(hook.posts[0]!.body).toMatchObject({ text: 'hello', playbook: 'alert-only' });
  });

  it('posts to the url given as input, ahead of the environment', async () => {
    const c = await startContainer();
    const chosen = await webhook();
    const other = await webhook();
    const file = join(evidence, 'alert.yaml');
    writeFileSync(
      file,
      `name: alert-url\nsteps:\n  - id: alert\n    uses: alert.webhook\n    with: { url: "${chosen.url}", details: { severity: high } }\n`,
    );
    const result = await firebreak(['run', file, c.name, '--incident', 'INC-URL'], other.url);
    expect(result.code).toBe(0);
    expect(other.posts).toHaveLength(0);
    expect(chosen.posts[0]!.body).toMatchObject({
      text: `firebreak alert-url on ${c.name} (incident INC-URL)`,
      details: { severity: 'high' },
    });
  });
});

describe('privilege-escalation', () => {
  it('collects evidence, keeps the filesystem as a labelled quarantine image, stops the container and alerts', async () => {
    const c = await startContainer();
    const hook = await webhook();
    const incident = uniqueName('INC-PE');
    const result = await firebreak(
      ['run', 'privilege-escalation', c.name, '--incident', incident, '--param', 'grace=2s'],
      hook.url,
    );
    const steps = stepsOf(result.stdout);
    if (steps.commit?.outputs?.image) images.push(steps.commit.outputs.image);
    expect(result.code).toBe(0);

    expect((await inspectContainer(c.name)).State.Status).toBe('exited');
    const image = await docker().getImage(steps.commit.outputs.image).inspect();
    expect(image.Config.Labels?.['firebreak.incident']).toBe(incident);
    expect(image.RepoTags?.[0]).toMatch(/^quarantine\/suspicious:\d{8}T\d{6}Z$/);
    expect(bagOf(result.stdout).json(`data/targets/${c.name}/image.json`)).toBeTruthy();
    expect(hook.posts[0]!.body.text).toBe(
      `privilege escalation on ${c.name} (incident ${incident}): stopped; filesystem kept as ${image.RepoTags?.[0]}`,
    );
  });
});

describe('resource-abuse', () => {
  it('samples resource use, throttles to half a CPU and 100 processes, and alerts; throttle --revert undoes it', async () => {
    const c = await startContainer({ hostConfig: { NanoCpus: 1.5e9, PidsLimit: 500 } });
    const hook = await webhook();
    const result = await firebreak(['run', 'resource-abuse', c.name], hook.url);
    expect(result.code).toBe(0);
    const { HostConfig: h } = await inspectContainer(c.name);
    expect([h.NanoCpus, h.PidsLimit, h.Memory]).toEqual([5e8, 100, 0]);
    expect(bagOf(result.stdout).json(`data/targets/${c.name}/stats.json`)).toBeTruthy();
    expect(hook.posts[0]!.body.text).toMatch(/throttled to cpus 0\.5, pids 100; undo with firebreak throttle --revert/);

    const reverted = await firebreak(['throttle', c.name, '--revert']);
    expect(reverted.code).toBe(0);
    const { HostConfig: after } = await inspectContainer(c.name);
    expect([after.NanoCpus, after.PidsLimit]).toEqual([1.5e9, 500]);
  });
});

describe('crash-loop', () => {
  it('keeps the logs, the exit code, restart count and policy, and a tar of each volume, changing nothing', async () => {
    const volume = await createVolume();
    const c = await startContainer({
      cmd: ['sh', '-c', 'echo crash >> /data/crashes; echo starting; echo "fatal: no config" >&2; exit 3'],
      restartPolicy: { Name: 'on-failure', MaximumRetryCount: 50 },
      hostConfig: { Binds: [`${volume}:/data`] },
    });
    await until(async () => (await inspectContainer(c.id)).RestartCount >= 3);
    const result = await firebreak(['run', 'crash-loop', c.name]);
    expect(result.code).toBe(0);

    const steps = stepsOf(result.stdout);
    expect(steps.restarts.outputs).toMatchObject({ 'restart-policy': 'on-failure:50', 'exit-code': 3 });
    expect(steps.restarts.outputs['restart-count']).toBeGreaterThanOrEqual(3);
    expect(steps.restarts.outputs['exit-codes'].slice(0, 3)).toEqual([3, 3, 3]);
    const bag = bagOf(result.stdout);
    expect(bag.read(`data/targets/${c.name}/logs.stderr.log`)).toContain('fatal: no config');
    const [backup] = bag.json(`data/targets/${c.name}/volumes.json`);
    expect(backup).toMatchObject({ name: volume, destination: '/data' });
    const listing = execFileSync('tar', ['-tf', join(bag.dir, 'data', backup.file)], { encoding: 'utf8' });
    expect(listing.split('\n')).toContain('data/crashes');
    expect(bag.sha256Check('manifest-sha256.txt')).not.toMatch(/FAILED/);
    // The restart policy is left as it was: this playbook reports, it does not heal.
    expect((await inspectContainer(c.id)).HostConfig.RestartPolicy).toEqual({
      Name: 'on-failure',
      MaximumRetryCount: 50,
    });
  });

  it('backs up an anonymous volume too, under its generated name', async () => {
    const c = await startContainer({
      cmd: ['sh', '-c', 'echo kept > /cache/entry; echo ready; exec sleep 3600'],
      // No Source: an anonymous volume, removed with the container.
      hostConfig: { Mounts: [{ Type: 'volume', Target: '/cache' } as Docker.MountSettings] },
    });
    await until(async () => (await containerLogs(c.id)).stdout.includes('ready'));
    const result = await firebreak(['run', 'crash-loop', c.name]);
    expect(result.code).toBe(0);
    const [backup] = bagOf(result.stdout).json(`data/targets/${c.name}/volumes.json`);
    expect(backup.name).toMatch(/^[0-9a-f]{64}$/);
    expect(backup.destination).toBe('/cache');
    expect(backup.size).toBeGreaterThan(0);
  });

  it('succeeds with nothing to back up on a container without volumes', async () => {
    const c = await startContainer();
    const result = await firebreak(['run', 'crash-loop', c.name]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/volumes: no volumes to back up/);
  });
});

async function until(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
