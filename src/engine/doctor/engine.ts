import type { Engine, EngineProduct } from '../../docker/index.js';
import { messageOf } from '../../errors.js';
import { failed, ok, warning, type Check } from './report.js';

/** The Docker API version firebreak is written against (Docker 20.10); older engines lack fields it reads. */
const minimumApi = [1, 41] as const;

/** Can the engine be reached at all, and what is it: the first check, on which the others depend. */
export async function checkEngine(
  engine: Engine,
  signal: AbortSignal,
): Promise<{ checks: Check[]; product?: EngineProduct }> {
  const where = `${engine.endpoint.label} (chosen by ${engine.endpoint.source})`;
  let product: EngineProduct;
  try {
    product = await engine.probe.product(signal);
  } catch (error) {
    return {
      checks: [failed('engine', 'engine', `unreachable at ${where}: ${messageOf(error)}`, fixFor(engine, error))],
    };
  }
  const checks = [ok('engine', 'engine', `reachable at ${where}`)];
  const [major = 0, minor = 0] = product.apiVersion.split('.').map(Number);
  const platform = [product.os, product.arch].filter(Boolean).join('/');
  const what = `${product.kind} ${product.version}, API ${product.apiVersion}${platform ? ` (${platform})` : ''}`;
  if (major < minimumApi[0] || (major === minimumApi[0] && minor < minimumApi[1])) {
    checks.push(
      warning(
        'engine.version',
        'engine version',
        `${what}: older than API ${minimumApi.join('.')}`,
        'upgrade the engine to Docker 20.10 or later',
      ),
    );
  } else if (product.kind !== 'Docker') {
    // DESIGN.md section 9: Podman's compatible API is a best-effort second engine.
    checks.push(
      warning(
        'engine.version',
        'engine version',
        `${what}: not Docker, supported on a best-effort basis`,
        'see the README on Podman for what it cannot do',
      ),
    );
  } else {
    checks.push(ok('engine.version', 'engine version', what));
  }
  return { checks, product };
}

/** One line that says what to do, from how the endpoint was chosen and how it failed. */
function fixFor(engine: Engine, error: unknown): string {
  const text = messageOf(error);
  if (/EACCES|permission denied/i.test(text))
    return `give this user access to ${engine.endpoint.label} (the docker group, or run as root)`;
  switch (engine.endpoint.source) {
    case '--host':
      return 'check the address given with --host, and that the engine listens there';
    case 'DOCKER_HOST':
      return 'check DOCKER_HOST, or unset it to use the local socket';
    default:
      return 'start the Docker engine (dockerd), or point firebreak at one with --host or DOCKER_HOST';
  }
}
