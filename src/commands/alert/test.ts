import { Flags } from '@oclif/core';
import { FirebreakCommand } from '../../cli/base.js';
import { visibleControls } from '../../cli/terminal.js';
import { ExitCode, UsageError } from '../../errors.js';

export default class AlertTest extends FirebreakCommand {
  static override summary = "Send a test alert to the configured webhook and print the receiver's HTTP status.";
  static override description =
    'The URL comes from FIREBREAK_WEBHOOK_URL, or from the file FIREBREAK_WEBHOOK_URL_FILE names (a Docker or ' +
    'Kubernetes secret); it is shown as scheme and host only. Delivery is tried up to three times, as in a playbook. ' +
    'Exit 0 when the receiver accepted it (2xx), 1 when it did not, 2 when no webhook is configured.';
  static override examples = [
    'FIREBREAK_WEBHOOK_URL=https://hooks.slack.com/services/T0/B0/XXXX <%= config.bin %> alert test --webhook-format slack',
    'FIREBREAK_WEBHOOK_URL_FILE=/run/secrets/firebreak_webhook <%= config.bin %> alert test --webhook-format discord',
  ];
  static override flags = {
    'webhook-format': Flags.string({
      options: ['json', 'slack', 'discord'],
      env: 'FIREBREAK_WEBHOOK_FORMAT',
      default: 'json',
      description: 'Alert body: json (firebreak document), slack (text) or discord (content)',
    }),
    text: Flags.string({ description: 'The message [default: "firebreak test alert from USER@HOST"]' }),
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(AlertTest);
    const { deliver, envWebhookUrl, formatPayload, webhookEnv, webhookFileEnv, webhookPayload } =
      await import('../../steps/alert.js');
    const { hostname, userInfo } = await import('node:os');
    const url = envWebhookUrl();
    if (!url) throw new UsageError(`no webhook configured: set ${webhookEnv} or ${webhookFileEnv}`);
    const format = flags['webhook-format'] as 'json' | 'slack' | 'discord';
    const text = flags.text ?? `firebreak test alert from ${userInfo().username}@${hostname()}`;
    const payload = webhookPayload(
      {
        incident: 'test',
        playbook: 'alert-test',
        runId: 'alert-test',
        target: { id: '', name: 'alert-test', image: '', imageId: '', labels: {} },
      },
      text,
    );
    const sent = await deliver(url, formatPayload(payload, format), AbortSignal.timeout(30_000));
    this.setExitCode(sent.sent ? ExitCode.ok : ExitCode.stepFailed);
    const result = {
      schema: 'firebreak.alert-test/v1',
      status: sent.sent ? 'succeeded' : 'failed',
      receiver: url.shown,
      format,
      ...(sent.status !== undefined ? { httpStatus: sent.status } : {}),
      tries: sent.tries,
      ...(sent.error ? { error: sent.error } : {}),
    };
    if (!this.jsonEnabled()) {
      const status = sent.status !== undefined ? `HTTP ${sent.status}` : 'no answer';
      const tries = sent.tries > 1 ? ` after ${sent.tries} tries` : '';
      const line = sent.sent
        ? `succeeded: ${url.shown} answered ${status} to a ${format} test alert${tries}`
        : `failed: ${sent.error}${tries}`;
      process.stdout.write(`${visibleControls(line)}\n`);
    }
    return result;
  }
}
