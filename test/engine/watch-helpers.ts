// What the watch tests share: containers whose health is a file the test removes through exec,
// the watcher as a signalable child, and the engine's own record of what happened to a container.
import type Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { startCli, type StartedCli } from './cli.js';
import { docker, startContainer, type ContainerOptions, type TestContainer } from './harness.js';

/** Healthy while /tmp/ok exists; its command creates the file at every start, so a restart heals it. */
export const healthy = {
  cmd: ['sh', '-c', 'touch /tmp/ok; exec sleep 3600'],
  // Engine form, nanoseconds: a probe every 250 ms, unhealthy after one failure.
  healthcheck: { Test: ['CMD-SHELL', 'test -f /tmp/ok'], Interval: 250e6, Timeout: 2e9, Retries: 1 },
};

/** A label that only this test's containers carry, so each watcher sees only its own. */
export function runLabel(): { key: string; value: string; flag: string } {
  const value = randomBytes(4).toString('hex');
  return { key: 'fb-watch-test', value, flag: `fb-watch-test=${value}` };
}

export async function healthContainer(
  label: { key: string; value: string },
  opts: ContainerOptions = {},
): Promise<TestContainer> {
  const container = await startContainer({
    ...healthy,
    ...opts,
    labels: { [label.key]: label.value, ...opts.labels },
  });
  await waitForHealth(docker(), container.id, 'healthy');
  return container;
}

/** Removes the health file through exec (no traffic from the host to the container). */
export async function breakHealth(client: Docker, id: string, wait = true): Promise<void> {
  const exec = await client.getContainer(id).exec({ Cmd: ['rm', '-f', '/tmp/ok'] });
  const stream = await exec.start({ Detach: false });
  await new Promise<void>((resolve) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.resume();
  });
  if (wait) await waitForHealth(client, id, 'unhealthy');
}

export async function waitForHealth(client: Docker, id: string, status: string, ms = 20_000): Promise<void> {
  for (const started = Date.now(); ;) {
    const info = await client.getContainer(id).inspect();
    if (info.State.Health?.Status === status) return;
    if (Date.now() - started > ms)
      throw new Error(
        `${id.slice(0, 12)} is ${info.State.Health?.Status ?? info.State.Status}, not ${status}, after ${ms} ms`,
      );
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The actions the engine logged for a container since `since` (a Date), in order. */
export async function engineActions(client: Docker, id: string, since: Date): Promise<string[]> {
  const stream = (await client.getEvents({
    since: Math.floor(since.getTime() / 1000),
    until: Math.ceil(Date.now() / 1000) + 1,
    filters: JSON.stringify({ type: ['container'], container: [id] }),
  })) as unknown as NodeJS.ReadableStream;
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => (JSON.parse(line) as { Action: string }).Action)
    .filter((action) => !action.startsWith('exec_'));
}

/** `firebreak watch` as a child, resolved once it has listed the engine's unhealthy containers. */
export async function startWatch(args: string[], env: Record<string, string> = {}): Promise<StartedCli> {
  const cli = startCli(['watch', ...args], { env });
  await Promise.race([cli.stderrMatches(/following |reconnected to /), timeout(30_000, 'watch did not connect')]);
  return cli;
}

/** Waits for a line on the watcher's stderr, failing with all of it after `ms`. */
export async function waitForLine(cli: StartedCli, line: RegExp, ms = 30_000): Promise<void> {
  let stderr = '';
  void cli.done.then((r) => (stderr = r.stderr));
  await Promise.race([cli.stderrMatches(line), timeout(ms, `no line matching ${line} within ${ms} ms`, () => stderr)]);
}

function timeout(ms: number, message: string, more: () => string = () => ''): Promise<never> {
  return new Promise((_, reject) => {
    const timer = setTimeout(() => reject(new Error(`${message}${more() ? `\n${more()}` : ''}`)), ms);
    timer.unref();
  });
}
