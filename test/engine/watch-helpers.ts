// What the watch tests share: containers whose health is a file the test removes through exec,
// the watcher as a signalable child, and the engine's own record of what happened to a container.
import type Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { RUN_JS } from './cli.js';
import { docker, startContainer, type ContainerOptions, type TestContainer } from './harness.js';

/** Healthy while /tmp/ok exists; its command creates the file at every start, so a restart heals it. */
export const healthy = {
  cmd: ['sh', '-c', 'touch /tmp/ok; exec sleep 3600'],
  // Engine form, nanoseconds: a probe every 250 ms, unhealthy after one failure.
  healthcheck: { Test: ['CMD-SHELL', 'test -f /tmp/ok'], Interval: 250e6, Timeout: 10e9, Retries: 2 },
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
  return (
    Buffer.concat(chunks)
      .toString('utf8')
      .split('\n')
      .filter((line) => line.trim())
      .map((line) => JSON.parse(line) as { Action: string; timeNano: number })
      // `since` counts whole seconds: the events of the second before it are not the test's to judge.
      .filter((event) => event.timeNano / 1e6 >= since.getTime())
      .map((event) => event.Action)
      .filter((action) => !action.startsWith('exec_'))
  );
}

export interface WatchChild {
  kill(signal: NodeJS.Signals): void;
  stderr(): string;
  /** stdout so far: the NDJSON lines of --log-format json. */
  stdout(): string;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string }>;
}

/**
 * `firebreak watch` as a child, resolved once it has listed the engine's unhealthy containers.
 * Its own spawn rather than startCli's: a watcher outlives startCli's 50 s cap on a loaded machine,
 * and a line awaited from a watcher that has exited must fail, not resolve.
 */
export async function startWatch(args: string[], env: Record<string, string> = {}): Promise<WatchChild> {
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    FORCE_COLOR: undefined,
    NO_COLOR: '1',
    NODE_ENV: undefined,
    ...env,
  };
  for (const key of Object.keys(childEnv)) if (childEnv[key] === undefined) delete childEnv[key];
  const child = spawn(process.execPath, [RUN_JS, 'watch', ...args], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  let out = '';
  child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), 170_000);
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string }>(
    (resolve) =>
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stderr: text, stdout: out });
      }),
  );
  const watch: WatchChild = { kill: (signal) => child.kill(signal), stderr: () => text, stdout: () => out, done };
  await waitForLine(watch, /following |reconnected to /);
  return watch;
}

/** Waits for a line of the watcher's (stderr, or stdout for --log-format json); fails with all of it after `ms` or when the watcher exits first. */
export async function waitForLine(watch: WatchChild, line: RegExp, ms = 30_000): Promise<void> {
  let exited = false;
  void watch.done.then(() => (exited = true));
  for (const started = Date.now(); !line.test(watch.stderr()) && !line.test(watch.stdout());) {
    if (exited || Date.now() - started > ms)
      throw new Error(
        `no line matching ${line} ${exited ? 'before watch exited' : `within ${ms} ms`}:\n${watch.stderr()}${watch.stdout()}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
