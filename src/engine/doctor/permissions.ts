import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Engine } from '../../docker/index.js';
import { messageOf } from '../../errors.js';
import { chooseImage } from './image.js';
import { failed, ok, skipped, warning, type Check } from './report.js';

/** The label that marks what doctor creates: `docker ps -a --filter label=firebreak.doctor` finds leftovers. */
export const doctorLabel = 'firebreak.doctor';

/** Removal must not hang on a wedged engine, nor be cut short by the Ctrl-C that asked for it. */
const cleanupMs = 30_000;

/**
 * The permissions a playbook needs, tried for real on a throwaway internal network and container
 * (labelled firebreak.doctor=<id>) that are removed in every outcome: an engine can answer
 * /version and still refuse what containment does (an authorization plugin, a rootless engine
 * without cgroup delegation for pause and update, a user namespace that hides the archive).
 */
export async function checkPermissions(
  engine: Engine,
  named: string | undefined,
  signal: AbortSignal,
): Promise<Check[]> {
  let choice: Awaited<ReturnType<typeof chooseImage>>;
  try {
    choice = await chooseImage(engine, named, signal);
  } catch (error) {
    return [
      failed(
        'permission.create',
        'permission: create',
        `cannot list images: ${messageOf(error)}`,
        'see the engine check above',
      ),
    ];
  }
  if (!choice.image) {
    const fix = named
      ? `load it (docker load, docker pull) or name a local image with --image`
      : 'load any small image (docker pull busybox, or docker load) or name one with --image';
    const line = named ? failed : warning;
    return [
      line('permission.create', 'permissions', `not tried: ${choice.how}, and the throwaway container needs one`, fix),
    ];
  }

  const id = randomBytes(4).toString('hex');
  const labels = { [doctorLabel]: id };
  const name = `firebreak-doctor-${id}`;
  const checks: Check[] = [];
  let networkId: string | undefined;
  let containerId: string | undefined;
  try {
    networkId = (await engine.lab.createNetwork({ name, labels, ownSubnet: false }, signal)).id;
    // `sleep` as its entrypoint: the image's own command may be a server that needs what the
    // container is denied, or may exit at once.
    containerId = await engine.lab.createContainer(
      {
        name,
        image: choice.image,
        entrypoint: ['sleep'],
        command: ['300'],
        labels,
        networks: [{ network: name, aliases: [] }],
      },
      signal,
    );
    checks.push(
      ok('permission.create', 'permission: create', `internal network and container ${name} from ${choice.how}`),
    );
  } catch (error) {
    checks.push(failed('permission.create', 'permission: create', messageOf(error), createFix(error)));
  }
  try {
    if (containerId && networkId) checks.push(...(await exercise(engine, containerId, networkId, name, signal)));
  } finally {
    checks.push(await removeAll(engine, containerId, networkId, name));
  }
  return checks;
}

/** connect, disconnect, pause, update and archive, each its own line; one refusal does not hide the others. */
async function exercise(engine: Engine, container: string, network: string, name: string, signal: AbortSignal) {
  const checks: Check[] = [];
  let running = true;
  try {
    await engine.containers.start(container, signal);
  } catch (error) {
    running = false;
    checks.push(
      warning(
        'permission.start',
        'permission: start',
        `the container did not start: ${messageOf(error)}`,
        'name an image that has `sleep` with --image',
      ),
    );
  }
  const tryStep = async (id: string, what: string, fn: () => Promise<string>) => {
    try {
      checks.push(ok(`permission.${id}`, `permission: ${id}`, await fn()));
    } catch (error) {
      signal.throwIfAborted();
      checks.push(failed(`permission.${id}`, `permission: ${id}`, `${what}: ${messageOf(error)}`, refusalFix(error)));
    }
  };
  await tryStep('disconnect', 'disconnect from a network', async () => {
    await engine.networks.disconnect(network, container, signal);
    return `disconnected ${name} from its network`;
  });
  await tryStep('connect', 'connect to a network', async () => {
    await engine.networks.connect(
      container,
      { network: name, networkId: network, aliases: [], fixedAddress: false },
      false,
      signal,
    );
    return `connected ${name} to its network again`;
  });
  if (running) {
    await tryStep('pause', 'pause and unpause', async () => {
      await engine.containers.pause(container, signal);
      await engine.containers.unpause(container, signal);
      return `paused and unpaused ${name}`;
    });
  } else {
    checks.push(skipped('permission.pause', 'permission: pause', 'the container is not running'));
  }
  await tryStep('update', 'update limits', async () => {
    await engine.containers.update(container, { pidsLimit: 64 }, signal);
    return `set a pids limit on ${name}`;
  });
  await tryStep('archive', 'read the archive', async () => {
    const bytes = await drain(await engine.containers.archive(container, '/etc/hostname', signal));
    return `read /etc/hostname of ${name} through the archive API (${bytes} bytes of tar)`;
  });
  return checks;
}

async function drain(stream: Readable): Promise<number> {
  let bytes = 0;
  for await (const chunk of stream) bytes += (chunk as Buffer).length;
  return bytes;
}

async function removeAll(
  engine: Engine,
  container: string | undefined,
  network: string | undefined,
  name: string,
): Promise<Check> {
  const problems: string[] = [];
  const deadline = AbortSignal.timeout(cleanupMs);
  if (container) await engine.lab.removeContainer(container, deadline).catch((e) => problems.push(messageOf(e)));
  if (network) await engine.lab.removeNetwork(network, deadline).catch((e) => problems.push(messageOf(e)));
  if (problems.length === 0) return ok('permission.remove', 'permission: remove', `removed ${name} and its network`);
  return failed(
    'permission.remove',
    'permission: remove',
    `could not remove what doctor created: ${problems.join('; ')}`,
    `docker rm -f ${name}; docker network rm ${name}`,
  );
}

function createFix(error: unknown): string {
  return /no such image|not found/i.test(messageOf(error)) ? 'name a local image with --image' : refusalFix(error);
}

function refusalFix(error: unknown): string {
  const text = messageOf(error);
  if (/authoriz|forbidden|403/i.test(text))
    return 'an authorization plugin refuses this: allow it for the firebreak user';
  if (/cgroup/i.test(text))
    return 'the engine cannot manage cgroups here (rootless without delegation?): enable cgroup delegation';
  return 'check the engine log (journalctl -u docker) for why it refused';
}
