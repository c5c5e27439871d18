// A webhook URL is a secret: user:password and the token in its path must never reach stdout,
// stderr or any file of the bundle, whichever way the alert ends.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bundleFromOutput, tempDir, unpackBundle } from './bundle-files.js';
import { runCli } from './cli.js';
import { startContainer, useHarness } from './harness.js';

useHarness();

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers) server.closeAllConnections();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

interface Post {
  path: string;
  authorization?: string;
}

/** A receiver on loopback that answers 500 and echoes the path it was posted to, as some do. */
async function echoingReceiver(): Promise<{ port: number; posts: Post[] }> {
  const posts: Post[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      posts.push({ path: req.url ?? '', authorization: req.headers.authorization });
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`no hook at ${req.url}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { port: (server.address() as AddressInfo).port, posts };
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('a webhook URL with credentials', () => {
  it('is shown and recorded as scheme and host only, from the environment or a playbook, answered or refused', async () => {
    const receiver = await echoingReceiver();
    const refused = await closedPort();
    const secrets = ['pw-env-9x7', 'env-token-4f2e', 'pw-file-3k1', 'file-token-8d0c'];
    const playbook = join(tempDir(), 'alert.yaml');
    writeFileSync(
      playbook,
      [
        'name: alert-secrets',
        'steps:',
        '  - uses: evidence.inspect',
        '  - id: from-env',
        '    uses: alert.webhook',
        '    with: {text: from the environment}',
        '    continue-on-error: true',
        '  - id: from-file',
        '    uses: alert.webhook',
        `    with: {text: from the playbook, url: "http://ops:pw-file-3k1@127.0.0.1:${refused}/hooks/file-token-8d0c"}`,
        '    continue-on-error: true',
        '',
      ].join('\n'),
    );
    const container = await startContainer();
    const evidence = tempDir();
    const env = {
      FIREBREAK_WEBHOOK_URL: `http://ops:pw-env-9x7@127.0.0.1:${receiver.port}/services/T0/env-token-4f2e`,
    };

    // debug puts the journal on stderr too, with every step's input.
    const result = await runCli(
      ['run', playbook, container.name, '--yes', '--log-level', 'debug', '--evidence-dir', evidence],
      { env },
    );
    // A failed alert is recorded and never changes the run's result.
    expect(result.code).toBe(0);

    // The alert still went out, its credentials as Basic authentication, tried three times on a 500.
    const post = {
      path: '/services/T0/env-token-4f2e',
      authorization: `Basic ${Buffer.from('ops:pw-env-9x7').toString('base64')}`,
    };
    expect(receiver.posts).toEqual([post, post, post]);
    expect(result.stdout).toContain(
      `warning: alert not delivered after 3 tries: webhook http://127.0.0.1:${receiver.port} answered 500 Internal Server Error: no hook at ****`,
    );
    expect(result.stdout).toContain(
      `warning: alert not delivered after 3 tries: webhook http://127.0.0.1:${refused}: ECONNREFUSED`,
    );

    const bag = unpackBundle(bundleFromOutput(result.stdout).path);
    const run = bag.json('data/run.json');
    expect(run.targets[0].steps[2].input.url).toBe(`http://127.0.0.1:${refused}`);
    const texts = [result.stdout, result.stderr, ...filesUnder(bag.dir).map((file) => readFileSync(file, 'latin1'))];
    for (const text of texts) for (const secret of secrets) expect(text).not.toContain(secret);
  });

  it('refuses a FIREBREAK_WEBHOOK_URL that is not http(s) before anything runs, without echoing it', async () => {
    const container = await startContainer();
    const evidence = tempDir();
    const result = await runCli(['run', 'unauthorized-access', container.name, '--yes', '--evidence-dir', evidence], {
      env: { FIREBREAK_WEBHOOK_URL: 'file:///var/run/hook-token-77' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'firebreak: FIREBREAK_WEBHOOK_URL must be http(s), not file:; fix it or unset it (alerts are then skipped)\n',
    );
    expect(result.stdout).toBe('');
    expect(readdirSync(evidence)).toEqual([]);
  });

  it('refuses a file:// webhook in a playbook when it loads', async () => {
    const playbook = join(tempDir(), 'file-hook.yaml');
    writeFileSync(
      playbook,
      'name: file-hook\nsteps:\n  - uses: alert.webhook\n    with: {url: "file:///etc/passwd"}\n',
    );
    const result = await runCli(['playbooks', 'validate', playbook]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toMatch(
      /^firebreak: \S+file-hook\.yaml:4:\d+: steps\[0\]\.with\.url: webhook URL must be http\(s\), not file:$/,
    );
  });
});
