import { readFile } from 'node:fs/promises';
import { formatBytes } from '../../bytes.js';
import { messageOf } from '../../errors.js';
import { prepareEvidenceFolder } from '../../evidence/folder.js';
import { parseWebhookUrl, webhookEnv, webhookStep, type WebhookUrl } from '../../steps/alert.js';
import type { StepContext } from '../../steps/types.js';
import { failed, ok, warning, type Check } from './report.js';

/** Below this a filesystem export or a long log may not fit, and the bundle falls back elsewhere. */
const lowSpace = 1024 ** 3;

/** The folder exactly as a run prepares it (created 0700 if missing), then how much room it has. */
export async function checkEvidenceFolder(dir: string): Promise<Check> {
  const title = 'evidence folder';
  try {
    const folder = await prepareEvidenceFolder(dir);
    const free = folder.freeBytes === undefined ? 'free space unknown' : `${formatBytes(folder.freeBytes)} free`;
    if (folder.exposed) return warning('evidence', title, `${folder.path} is writable, ${free}`, folder.exposed);
    if (folder.freeBytes !== undefined && folder.freeBytes < lowSpace)
      return warning(
        'evidence',
        title,
        `${folder.path} is writable, but only ${free}`,
        'free space there, or choose another folder with --evidence-dir',
      );
    return ok('evidence', title, `${folder.path} is writable, ${free}`);
  } catch (error) {
    return failed(
      'evidence',
      title,
      messageOf(error),
      'choose a writable folder with --evidence-dir or FIREBREAK_EVIDENCE_DIR',
    );
  }
}

const fileEnv = `${webhookEnv}_FILE`;

/** The webhook as alerts will find it: the variable, else the file it names (kept out of the environment of every process). */
async function configuredWebhook(env: NodeJS.ProcessEnv): Promise<{ url?: WebhookUrl; from?: string }> {
  const text = env[webhookEnv]?.trim();
  if (text) return { url: parseWebhookUrl(text, webhookEnv), from: webhookEnv };
  const file = env[fileEnv]?.trim();
  if (!file) return {};
  const content = await readFile(file, 'utf8').catch((error: Error) => {
    throw new Error(`${fileEnv}: cannot read ${file}: ${messageOf(error)}`);
  });
  return { url: parseWebhookUrl(content, `${fileEnv} (${file})`), from: `${fileEnv} (${file})` };
}

/** Configured or not; with `send`, one test alert posted through the alert.webhook step itself. */
export async function checkWebhook(send: boolean, env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<Check> {
  const title = 'webhook';
  let found: Awaited<ReturnType<typeof configuredWebhook>>;
  try {
    found = await configuredWebhook(env);
  } catch (error) {
    return failed('webhook', title, messageOf(error), `fix ${webhookEnv} or ${fileEnv}, or unset them`);
  }
  if (!found.url) {
    return warning(
      'webhook',
      title,
      'not configured: alerts from playbooks are skipped',
      `set ${webhookEnv} (or ${fileEnv}) to your receiver's URL`,
    );
  }
  const where = `${found.url.shown} from ${found.from}`;
  if (!send) return ok('webhook', title, `configured: ${where} (--send-test-alert sends one)`);
  try {
    const outcome = await webhookStep.run(testAlertContext(signal), {
      text: 'firebreak doctor: test alert, nothing happened',
      url: found.url,
      details: { test: true },
    });
    return ok('webhook', title, `configured: ${where}; test alert ${outcome.note ?? 'sent'}`);
  } catch (error) {
    return failed(
      'webhook',
      title,
      `configured: ${where}; test alert failed: ${messageOf(error)}`,
      'check the URL and that the receiver accepts a JSON POST',
    );
  }
}

/**
 * alert.webhook reads only the signal and the names of the run from its context; the doctor has
 * no run or target, so these say "doctor" where a run would name them.
 */
function testAlertContext(signal: AbortSignal): StepContext {
  const at = new Date();
  return {
    signal: AbortSignal.any([signal, AbortSignal.timeout(webhookStep.timeout ?? 10_000)]),
    incident: 'doctor',
    playbook: 'doctor',
    runId: `doctor-${at.getTime()}`,
    runStartedAt: at,
    target: { id: '', name: 'doctor', image: '', imageId: '', labels: {} },
  } as unknown as StepContext;
}

export function checkNode(required: string | undefined): Check {
  const title = 'Node.js';
  const version = process.versions.node;
  const minimum = required?.match(/(\d+)\.(\d+)/);
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (minimum && (major < Number(minimum[1]) || (major === Number(minimum[1]) && minor < Number(minimum[2]))))
    return failed('node', title, `${version}, firebreak needs ${required}`, `install Node.js ${required}`);
  return ok('node', title, `${version}${required ? ` (needs ${required})` : ''}`);
}
