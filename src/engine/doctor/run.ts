import { openEngine } from '../../docker/index.js';
import { checkEngine } from './engine.js';
import { checkHealthchecks } from './healthchecks.js';
import { checkPermissions } from './permissions.js';
import { skipped, summarise, type Check, type DoctorReport } from './report.js';
import { checkEvidenceFolder, checkNode, checkWebhook } from './setup.js';

export interface DoctorRequest {
  host?: string;
  context?: string;
  evidenceDir: string;
  /** The image of the throwaway container; default a local one. */
  image?: string;
  sendTestAlert: boolean;
  /** package.json's engines.node, which the running Node.js is held to. */
  requiredNode?: string;
  env?: NodeJS.ProcessEnv;
  signal: AbortSignal;
}

/**
 * Everything an on-call engineer would otherwise find out at 3 a.m.: the engine, what it lets us
 * do, and the rest of the setup. The checks that need no engine run beside the engine's, and are
 * reported even when the engine cannot be reached.
 */
export async function runDoctor(request: DoctorRequest): Promise<DoctorReport> {
  const env = request.env ?? process.env;
  const engine = await openEngine({ host: request.host, context: request.context, env });
  const local = Promise.all([
    checkEvidenceFolder(request.evidenceDir),
    checkWebhook(request.sendTestAlert, env, request.signal),
  ]);
  const { checks: engineChecks, product } = await checkEngine(engine, request.signal);
  const checks: Check[] = [...engineChecks];
  if (product) {
    checks.push(...(await checkPermissions(engine, request.image, request.signal)));
    checks.push(await checkHealthchecks(engine, request.signal));
  } else {
    checks.push(skipped('permissions', 'permissions', 'the engine is unreachable'));
    checks.push(skipped('healthchecks', 'healthchecks', 'the engine is unreachable'));
  }
  checks.push(...(await local), checkNode(request.requiredNode));
  return summarise({ label: engine.endpoint.label, source: engine.endpoint.source }, checks, !product);
}
