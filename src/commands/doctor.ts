import { Flags } from '@oclif/core';
import { FirebreakCommand } from '../cli/base.js';
import { oneEngineFlags, runFlags } from '../cli/flags.js';
import { visibleControls } from '../cli/terminal.js';
import { InterruptedError } from '../errors.js';

export default class Doctor extends FirebreakCommand {
  static override summary = 'Check the setup before it is needed: engine, permissions, evidence folder, webhook.';
  static override description =
    'Reaches the engine (saying which endpoint and how it was chosen), names its kind and API version, and tries ' +
    'create, connect, disconnect, pause, update and archive on a throwaway internal network and container ' +
    '(labelled firebreak.doctor=<id>, removed in every outcome). Then the evidence folder and its free space, the ' +
    'webhook, Node.js, and running containers without a healthcheck. Exit 0 when nothing failed, 3 when the ' +
    'engine is unreachable, 1 for any other failure.';
  static override examples = [
    '<%= config.bin %> doctor',
    '<%= config.bin %> doctor --host ssh://ops@db-1 --image busybox:latest',
    '<%= config.bin %> doctor --send-test-alert --json',
  ];
  static override flags = {
    ...oneEngineFlags,
    'evidence-dir': runFlags['evidence-dir'],
    image: Flags.string({
      description: 'Image for the throwaway container (must be local; never pulled) [default: a local image]',
    }),
    'send-test-alert': Flags.boolean({ description: 'Post one test alert to the configured webhook' }),
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(Doctor);
    const controller = new AbortController();
    // Ctrl-C stops the checks; the throwaway objects are still removed (permissions.ts).
    const stop = () => controller.abort(new InterruptedError('interrupted'));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      const { runDoctor } = await import('../engine/doctor/run.js');
      const report = await runDoctor({
        host: flags.host,
        context: flags.context,
        evidenceDir: flags['evidence-dir'],
        image: flags.image,
        sendTestAlert: flags['send-test-alert'],
        requiredNode: this.config.pjson.engines?.node,
        signal: controller.signal,
      });
      this.setExitCode(report.exitCode);
      if (!this.jsonEnabled()) {
        const { renderDoctor } = await import('../engine/doctor/text.js');
        process.stdout.write(visibleControls(renderDoctor(report), true));
      }
      return report;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  }
}
