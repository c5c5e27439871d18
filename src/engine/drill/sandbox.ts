import type { Engine, LabAttachment, NetworkAttachment } from '../../docker/index.js';
import { EngineError, messageOf } from '../../errors.js';
import { ms, type Scenario } from './scenario.js';

/** The label on everything a drill creates; its value is the drill's run id. */
export const drillLabel = 'firebreak.drill';

export interface Sandbox {
  containerId: string;
  containerName: string;
  /** As the engine reported them once the container was ready: what networks-restored compares with. */
  networksBefore: NetworkAttachment[];
}

/**
 * The scenario's networks (internal: nothing leaves them) and its container, started and waited
 * for until it shows what the scenario asks. Named after the drill id, labelled with it.
 */
export async function createSandbox(
  engine: Engine,
  scenario: Scenario,
  options: { image: string; drillId: string; signal: AbortSignal; onStarted?: (name: string) => void },
): Promise<Sandbox> {
  const { drillId, signal } = options;
  // Creations are not cut off mid-request by Ctrl-C: an engine that goes on to create what the
  // drill stopped waiting for would leave it behind after the cleanup looked. They are bounded
  // instead, and Ctrl-C is heard between them.
  const bounded = () => AbortSignal.timeout(120_000);
  const labels = { [drillLabel]: drillId };
  const attachments: LabAttachment[] = [];
  for (const network of scenario.networks) {
    const name = `fb-drill-${drillId}-${network.name}`;
    signal.throwIfAborted();
    const created = await engine.lab.createNetwork({ name, labels, ownSubnet: network['fixed-address'] }, bounded());
    attachments.push({
      network: name,
      aliases: network.aliases,
      ...(created.subnet ? { ipv4: created.subnet.replace(/0\/24$/, '50') } : {}),
    });
  }
  const { container } = scenario;
  const healthcheck = container.healthcheck;
  const containerName = `fb-drill-${drillId}-${scenario.name}`;
  signal.throwIfAborted();
  const containerId = await engine.lab.createContainer(
    {
      name: containerName,
      image: options.image,
      ...(container.command ? { command: container.command } : {}),
      labels,
      ...(container.restart
        ? { restart: { name: container.restart.policy, maximumRetryCount: container.restart['max-retries'] } }
        : {}),
      ...(healthcheck
        ? {
            healthcheck: {
              test: healthcheck.test,
              intervalMs: ms(healthcheck.interval),
              timeoutMs: ms(healthcheck.timeout),
              retries: healthcheck.retries,
            },
          }
        : {}),
      networks: attachments,
    },
    bounded(),
  );
  signal.throwIfAborted();
  await engine.containers.start(containerId, bounded());
  options.onStarted?.(containerName);
  await waitReady(engine, containerId, scenario, signal);
  const details = await engine.containers.inspect(containerId, signal);
  return { containerId, containerName, networksBefore: details.networks };
}

/** Polls the container until the scenario's `ready` holds, within its timeout. */
async function waitReady(engine: Engine, id: string, scenario: Scenario, signal: AbortSignal): Promise<void> {
  const { ready } = scenario;
  const deadline = Date.now() + ms(ready.timeout);
  let seen = 'nothing yet';
  for (;;) {
    const details = await engine.containers.inspect(id, signal);
    const state = details.state;
    seen = `status ${state.status}, health ${state.health ?? 'none'}, ${state.restartCount} restart(s)`;
    const running = state.running || (ready.restarts !== undefined && state.restarting);
    const ok =
      running &&
      (ready.health === undefined || state.health === ready.health) &&
      (ready.restarts === undefined || state.restartCount >= ready.restarts) &&
      (ready.file === undefined || (await fileExists(engine, id, ready.file, signal)));
    if (ok) return;
    if (!running && !state.restarting && ready.restarts === undefined && state.status === 'exited')
      throw new Error(`the scenario's container exited (code ${state.exitCode}) before it was ready`);
    if (Date.now() > deadline)
      throw new Error(`the scenario's container was not ready within ${ready.timeout} (${seen})`);
    await sleep(250, signal);
  }
}

async function fileExists(engine: Engine, id: string, path: string, signal: AbortSignal): Promise<boolean> {
  try {
    const { stream } = await engine.containers.archiveWithStat(id, path, signal);
    stream.destroy();
    return true;
  } catch (error) {
    if (error instanceof EngineError && error.notFound) return false;
    throw error;
  }
}

function sleep(msecs: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, msecs);
    function done() {
      signal.removeEventListener('abort', abort);
      resolve();
    }
    function abort() {
      clearTimeout(timer);
      reject(signal.reason);
    }
    signal.addEventListener('abort', abort, { once: true });
  });
}

/**
 * Everything labelled with the drill id: containers (forced), then the networks they were on, then
 * images a playbook committed from them (a commit keeps the container's labels). Runs on its own
 * bounded signal, since it must happen after Ctrl-C too. Returns what it could not remove.
 */
export async function removeSandbox(engine: Engine, drillId: string, extraImages: string[] = []): Promise<string[]> {
  const signal = AbortSignal.timeout(60_000);
  const filters = { label: [`${drillLabel}=${drillId}`] };
  const left: string[] = [];
  const attempt = async (what: string, removal: () => Promise<void>) => {
    try {
      await removal();
    } catch (error) {
      left.push(`${what}: ${messageOf(error)}`);
    }
  };
  const containers = await engine.containers.list(filters, true, signal);
  await Promise.all(
    containers.map((c) => attempt(`container ${c.names[0] ?? c.id}`, () => engine.lab.removeContainer(c.id, signal))),
  );
  for (const id of await engine.lab.networkIds(filters, signal))
    await attempt(`network ${id.slice(0, 12)}`, () => engine.lab.removeNetwork(id, signal));
  const images = await engine.images.list(filters, signal);
  const ids = new Set([...images.map((i) => i.id), ...extraImages]);
  for (const id of ids) await attempt(`image ${id.slice(7, 19)}`, () => engine.lab.removeImage(id, signal));
  return left;
}
