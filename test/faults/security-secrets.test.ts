// Security defaults, secrets: a webhook URL (the path of a Slack URL is its token; user:password
// too) and the values of secret-looking env vars never appear in what firebreak prints or writes
// for people: stdout and stderr (with --log-level debug, --dry-run and --json), run.json, the
// journal and the reports. The raw inspect document keeps the env values (that is evidence, and
// why the bundle is 0600). Each case is a `security` trial in the fault ledger.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleFromOutput, tempDir, unpackBundle } from '../engine/bundle-files.js';
import { runCli, type CliResult } from '../engine/cli.js';
import { startContainer, useHarness } from '../engine/harness.js';
import { trial } from './ledger.js';

useHarness();

const mark = randomBytes(4).toString('hex');
const servers: Server[] = [];
afterAll(async () => {
  for (const server of servers) server.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A receiver on loopback that answers 200 and counts the posts. */
async function receiver(): Promise<{ port: number; paths: string[] }> {
  const paths: string[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      paths.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { port: (server.address() as AddressInfo).port, paths };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** What a person may read of a run: its output and every text file of its bundle but the raw evidence. */
function readable(result: CliResult, bundle: string | undefined): Array<[string, string]> {
  const texts: Array<[string, string]> = [
    ['stdout', result.stdout],
    ['stderr', result.stderr],
  ];
  if (!bundle) return texts;
  const bag = unpackBundle(bundle);
  for (const file of filesUnder(bag.dir)) texts.push([file.slice(bag.dir.length + 1), readFileSync(file, 'latin1')]);
  return texts;
}
const leaks = (texts: Array<[string, string]>, secrets: string[]) =>
  texts.flatMap(([where, text]) => secrets.filter((s) => text.includes(s)).map((s) => `${where} holds ${s}`));

describe('a webhook URL given as a playbook param', () => {
  it('is never printed or recorded, with --log-level debug, --dry-run or --json: run.json keeps its scheme and host', () =>
    trial('security', 'webhook URL as a param: debug, dry-run, json', async () => {
      const hook = await receiver();
      const playbook = join(tempDir(), 'hook.yaml');
      writeFileSync(
        playbook,
        [
          'name: param-hook',
          'params:',
          '  hook: {type: string, description: where alerts go}',
          'steps:',
          '  - uses: evidence.inspect',
          '  - uses: alert.webhook',
          '    with: {text: "contained ${{ target.name }}", url: "${{ params.hook }}"}',
          '  - uses: alert.webhook',
          '    with: {text: "and to the environment\'s hook"}',
          '',
        ].join('\n'),
      );
      const container = await startContainer();
      const url = `http://ops:pw-${mark}@127.0.0.1:${hook.port}/services/T0/B0/tok${mark}`;
      const fromEnv = `http://127.0.0.1:${hook.port}/services/T9/B9/env${mark}`;
      const secrets = [`pw-${mark}`, `tok${mark}`, `env${mark}`, '/services/T0/B0/', '/services/T9/B9/'];
      const args = ['run', playbook, container.name, '--param', `hook=${url}`, '--yes', '--evidence-dir', tempDir()];
      const env = { FIREBREAK_WEBHOOK_URL: fromEnv };

      const dry = await runCli([...args, '--dry-run', '--log-level', 'debug'], { env });
      expect(dry.code, dry.stderr).toBe(0);
      const json = await runCli([...args, '--json'], { env });
      expect(json.code, json.stderr).toBe(0);
      const debug = await runCli([...args, '--log-level', 'debug'], { env });
      expect(debug.code, debug.stderr).toBe(0);
      expect(hook.paths.sort()).toEqual([
        `/services/T0/B0/tok${mark}`,
        `/services/T0/B0/tok${mark}`,
        `/services/T9/B9/env${mark}`,
        `/services/T9/B9/env${mark}`,
      ]);

      const bundle = bundleFromOutput(debug.stdout).path;
      expect(
        leaks(
          [
            ...readable(dry, undefined),
            ...readable(json, JSON.parse(json.stdout).bundle.path),
            ...readable(debug, bundle),
          ],
          secrets,
        ),
      ).toEqual([]);
      const run = unpackBundle(bundle).json('data/run.json');
      expect(run.params.hook).toBe(`http://127.0.0.1:${hook.port}/****`);
      for (const format of ['md', 'html', 'json']) {
        const report = await runCli(['report', bundle, '--format', format]);
        expect(leaks([[`report --format ${format}`, report.stdout]], secrets)).toEqual([]);
      }
    }));
});

describe('secret-looking env values of a container', () => {
  it('are in inspect.json only, never printed or in run.json, the journal or the reports, with --log-level debug and --json', () =>
    trial('security', 'masked env values: debug and json', async () => {
      const env = {
        DB_PASSWORD: `pw-${mark}`,
        GITHUB_TOKEN: `ghp_${mark}`,
        DATABASE_URL: `postgres://app:dburl-${mark}@db/app`,
        JDBC: `jdbc:x://h;user=a;password=jdbc-${mark}`,
      };
      const secrets = [`pw-${mark}`, `ghp_${mark}`, `dburl-${mark}`, `jdbc-${mark}`];
      const container = await startContainer({ env });
      const args = ['forensics', container.name, '--no-export', '--evidence-dir', tempDir()];
      const debug = await runCli([...args, '--log-level', 'debug']);
      expect(debug.code, debug.stderr).toBe(0);
      const json = await runCli([...args, '--json']);
      expect(json.code, json.stderr).toBe(0);
      const bundle = bundleFromOutput(debug.stdout).path;

      const texts = [...readable(debug, bundle), ...readable(json, JSON.parse(json.stdout).bundle.path)];
      // The raw evidence keeps them: that is what the bundle's 0600 protects.
      const raw = (where: string) => /targets\/[^/]+\/(inspect\.json|top\.json|files\.tar)$/.test(where);
      expect(texts.filter(([where]) => raw(where)).some(([, text]) => text.includes(`pw-${mark}`))).toBe(true);
      expect(
        leaks(
          texts.filter(([where]) => !raw(where)),
          secrets,
        ),
      ).toEqual([]);
      for (const format of ['md', 'html', 'json']) {
        const report = await runCli(['report', bundle, '--format', format]);
        expect(leaks([[`report --format ${format}`, report.stdout]], secrets)).toEqual([]);
      }
    }));
});
