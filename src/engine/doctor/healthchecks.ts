import type { Engine } from '../../docker/index.js';
import { messageOf } from '../../errors.js';
import { doctorLabel } from './permissions.js';
import { failed, ok, warning, type Check } from './report.js';

const inspectAtOnce = 8;

/**
 * Running containers without a healthcheck: auto-recover and `watch` judge a container by its
 * Docker health status, so these are the ones they cannot tell sick from well.
 */
export async function checkHealthchecks(engine: Engine, signal: AbortSignal): Promise<Check> {
  const title = 'healthchecks';
  try {
    const running = (await engine.containers.list({ status: ['running'] }, false, signal)).filter(
      (c) => !(doctorLabel in c.labels),
    );
    const without: string[] = [];
    for (let i = 0; i < running.length; i += inspectAtOnce) {
      const batch = running.slice(i, i + inspectAtOnce);
      const details = await Promise.all(
        batch.map((c) => engine.containers.inspect(c.id, signal).catch(() => undefined)),
      );
      details.forEach((d, j) => {
        if (d && !d.hasHealthcheck) without.push(batch[j]!.names[0] ?? batch[j]!.id.slice(0, 12));
      });
    }
    if (without.length === 0)
      return ok('healthchecks', title, `all ${running.length} running containers have a healthcheck`);
    const names = without.slice(0, 5).join(', ') + (without.length > 5 ? `, and ${without.length - 5} more` : '');
    return warning(
      'healthchecks',
      title,
      `${without.length} of ${running.length} running containers have no healthcheck, so auto-recover cannot judge them: ${names}`,
      'add a HEALTHCHECK to their images or a healthcheck: to their compose services',
    );
  } catch (error) {
    signal.throwIfAborted();
    return failed(
      'healthchecks',
      title,
      `cannot list running containers: ${messageOf(error)}`,
      'see the engine check above',
    );
  }
}
