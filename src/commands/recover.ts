import { Args, Flags } from '@oclif/core';
import { FirebreakCommand } from '../cli/base.js';
import { oneEngineFlags, runFlags } from '../cli/flags.js';
import { createProgress, progressModeFor } from '../cli/progress.js';
import { renderRecovery } from '../cli/recover-render.js';
import { visibleControls } from '../cli/terminal.js';
import { InterruptedError } from '../errors.js';
import type { LogLevel } from '../log.js';

// One engine at a time (a fleet file, repeated --host or --context are for the run commands), and
// no --sign yet: recover writes one bundle per container through its own requests.
const {
  'dry-run': _dryRun,
  yes: _yes,
  host: _host,
  context: _context,
  fleet: _fleet,
  select: _select,
  engines: _engines,
  sign: _sign,
  'sign-identity': _signIdentity,
  ...sharedFlags
} = runFlags;

export default class Recover extends FirebreakCommand {
  static override summary =
    'Bring unhealthy containers back: evidence first, then restart and wait for healthy, with bounded, backed-off retries.';
  static override description =
    'Runs the auto-recover playbook on each container, one bundle each: inspect (with the health log), logs (stdout and ' +
    'stderr apart), processes and resource use are kept before anything changes; then restart and wait until healthy, ' +
    'retried with backoff; on final failure an alert (FIREBREAK_WEBHOOK_URL), and with --quarantine-on-failure the ' +
    'quarantine steps. Never fights the operator: a container stopped, killed or paused by someone, held by firebreak ' +
    '(quarantine, pause) or labelled firebreak.ignore=true is skipped, with the reason; --force overrides that for ' +
    'containers named on the command line. Exit 0 when all recovered or none needed it, 1 when any could not be recovered.';
  static override examples = [
    '<%= config.bin %> recover web-1',
    '<%= config.bin %> recover --unhealthy --json',
    '<%= config.bin %> recover --unhealthy --filter label=team=payments --retries 5 --delay 10s --max-delay 2m',
    '<%= config.bin %> recover web-1 --action stop',
    '<%= config.bin %> recover web-1 --quarantine-on-failure --webhook-format slack',
  ];
  static override strict = false;
  static override args = { target: Args.string({ description: 'container names, ids or unique id prefixes' }) };
  static override flags = {
    ...sharedFlags,
    ...oneEngineFlags,
    unhealthy: Flags.boolean({
      description: 'Recover every container the engine reports unhealthy (with --filter), once',
    }),
    retries: Flags.integer({
      default: 3,
      min: 0,
      max: 99,
      description: 'Attempts after the first',
      helpGroup: 'RETRY',
    }),
    delay: Flags.string({ default: '5s', description: 'Wait before the first retry', helpGroup: 'RETRY' }),
    backoff: Flags.string({
      options: ['fixed', 'exponential'],
      default: 'exponential',
      description: 'fixed, or exponential (each wait doubles)',
      helpGroup: 'RETRY',
    }),
    'max-delay': Flags.string({ default: '5m', description: 'Longest wait between attempts', helpGroup: 'RETRY' }),
    'health-timeout': Flags.string({
      default: '60s',
      description: 'How long each attempt waits for healthy after the restart',
      helpGroup: 'RETRY',
    }),
    grace: Flags.string({
      default: '10s',
      description: 'Time between SIGTERM and SIGKILL when restarting or stopping',
    }),
    action: Flags.string({
      options: ['restart', 'stop', 'none'],
      default: 'restart',
      description: 'restart (and wait for healthy), stop, or none (evidence and alert only)',
    }),
    'quarantine-on-failure': Flags.boolean({
      description: 'When recovery fails, quarantine: commit the filesystem, tag it, stop and keep stopped',
    }),
    force: Flags.boolean({ description: 'Recover named containers even if an operator or firebreak holds them' }),
    'webhook-format': Flags.string({
      options: ['json', 'slack', 'discord'],
      env: 'FIREBREAK_WEBHOOK_FORMAT',
      description: 'Alert body: json, slack (text) or discord (content)',
    }),
  };

  async run(): Promise<unknown> {
    const { argv, flags } = await this.parse(Recover);
    const json = this.jsonEnabled();
    // The alert step reads it where it runs, in this process.
    if (flags['webhook-format']) process.env.FIREBREAK_WEBHOOK_FORMAT = flags['webhook-format'];
    const controller = new AbortController();
    const onSignal = (signal: NodeJS.Signals) => {
      if (controller.signal.aborted) process.exit(130);
      process.stderr.write(`\nfirebreak: ${signal}: stopping; finalising the evidence bundles (again to quit now)\n`);
      controller.abort(new InterruptedError(`interrupted by ${signal}`));
    };
    process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
    try {
      const { recoverContainers } = await import('../engine/recover.js');
      const outcome = await recoverContainers({
        references: argv as string[],
        unhealthy: flags.unhealthy,
        filters: flags.filter ?? [],
        force: flags.force,
        retries: flags.retries,
        delay: flags.delay,
        backoff: flags.backoff as 'fixed' | 'exponential',
        maxDelay: flags['max-delay'],
        healthTimeout: flags['health-timeout'],
        grace: flags.grace,
        action: flags.action as 'restart' | 'stop' | 'none',
        quarantineOnFailure: flags['quarantine-on-failure'],
        host: flags.host,
        context: flags.context,
        evidenceDir: flags['evidence-dir'],
        ...(flags.incident ? { incident: flags.incident } : {}),
        compression: flags.compression as 'gzip' | 'none',
        logLevel: flags['log-level'] as LogLevel,
        concurrency: flags.concurrency,
        signal: controller.signal,
        // Several runs at once: one live tree each would overwrite each other on a terminal; lines do not.
        progress: () => createProgress(progressModeFor(json) === 'silent' ? 'silent' : 'lines'),
        onNotice: (message) => process.stderr.write(`${visibleControls(message)}\n`),
      });
      this.setExitCode(outcome.exitCode);
      if (!json) process.stdout.write(visibleControls(renderRecovery(outcome), true));
      return outcome;
    } finally {
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    }
  }
}
