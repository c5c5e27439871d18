import { Flags } from '@oclif/core';
import { FirebreakCommand } from '../cli/base.js';
import { oneEngineFlags, runFlags } from '../cli/flags.js';
import { watchLogger } from '../cli/watch-log.js';
import { parseDuration } from '../duration.js';
import { ExitCode, InterruptedError, UsageError } from '../errors.js';
import { paramFlagsOf, parseParamFlags } from '../engine/params.js';
import type { LogLevel } from '../log.js';

export default class Watch extends FirebreakCommand {
  static override summary = 'Follow the engine’s events and recover containers that turn unhealthy or keep dying.';
  static override description =
    'Runs the recovery playbook (auto-recover unless --playbook) on a container that turns unhealthy, or that dies ' +
    '--crash-count times within --window; one bundle per recovery. Lists the containers already unhealthy at start and ' +
    'after every reconnect. Never two runs on one container at once; at most --max-recoveries per container per --window, ' +
    'past which it alerts (and with --quarantine-on-failure quarantines) and leaves the container alone until the window ' +
    'has passed, even across restarts of watch. Never touches a container an operator stopped, killed or paused, one ' +
    'firebreak quarantined, or one labelled firebreak.ignore=true. SIGTERM or Ctrl-C stops it: running recoveries get ' +
    '--grace to finish, then are aborted with their bundles finalised; exit 0.';
  static override examples = [
    '<%= config.bin %> watch',
    '<%= config.bin %> watch --label app=web --unhealthy-for 30s --max-recoveries 3 --window 10m',
    '<%= config.bin %> watch --crash-count 3 --quarantine-on-failure --log-format json --health-file /run/firebreak-watch.alive',
  ];
  static override enableJsonFlag = false;
  static override flags = {
    label: Flags.string({
      multiple: true,
      multipleNonGreedy: true,
      helpValue: 'K=V',
      description: 'Only containers with this label (K or K=V; repeatable)',
      helpGroup: 'TARGET',
    }),
    filter: runFlags.filter,
    ...oneEngineFlags,
    playbook: Flags.string({
      default: 'auto-recover',
      description: 'Recovery playbook: a built-in name or a YAML file',
    }),
    param: Flags.string({
      char: 'p',
      multiple: true,
      multipleNonGreedy: true,
      helpValue: 'NAME=VALUE',
      description: 'Recovery playbook parameter (repeatable)',
    }),
    'unhealthy-for': Flags.string({ default: '0s', description: 'Act once a container has been unhealthy this long' }),
    'crash-count': Flags.integer({
      default: 3,
      min: 0,
      description:
        'Act when a container dies (non-zero exit, no operator stop) this many times within --window; 0: never',
    }),
    window: Flags.string({ default: '10m', description: 'Window of --crash-count and --max-recoveries' }),
    'max-recoveries': Flags.integer({
      default: 3,
      min: 1,
      description: 'Recoveries of one container per --window before its breaker opens',
    }),
    'max-parallel': Flags.integer({ default: 4, min: 1, max: 64, description: 'Recoveries running at once' }),
    'quarantine-on-failure': Flags.boolean({ description: 'When a breaker opens, quarantine the container too' }),
    grace: Flags.string({ default: '30s', description: 'On SIGTERM/SIGINT, how long running recoveries may take' }),
    'health-file': Flags.string({ helpValue: 'PATH', description: 'Touched every 5 s while watch runs (heartbeat)' }),
    'log-format': Flags.string({
      options: ['human', 'json'],
      default: 'human',
      description: 'human: lines on stderr; json: pino NDJSON on stdout',
    }),
    'evidence-dir': runFlags['evidence-dir'],
    compression: runFlags.compression,
    'log-level': runFlags['log-level'],
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Watch);
    if (flags['evidence-dir'].trim() === '')
      throw new UsageError('--evidence-dir is empty: give a value or leave the flag out');
    const durations = {
      unhealthyForMs: parseDuration(flags['unhealthy-for'], '--unhealthy-for'),
      windowMs: parseDuration(flags.window, '--window'),
      graceMs: parseDuration(flags.grace, '--grace'),
    };
    if (durations.windowMs === 0) throw new UsageError('--window: must be longer than 0s');
    const params = parseParamFlags(flags.param ?? []);
    const stop = new AbortController();
    const hard = new AbortController();
    const onSignal = (signal: NodeJS.Signals) => {
      if (!stop.signal.aborted) {
        process.stderr.write(`firebreak watch: ${signal}: stopping (again to abort running recoveries now)\n`);
        return stop.abort(new InterruptedError(`stopped by ${signal}`));
      }
      if (!hard.signal.aborted) return hard.abort(new InterruptedError(`aborted by a second ${signal}`));
      process.exit(ExitCode.interrupted);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const { runWatch } = await import('../engine/watch/watch.js');
      await runWatch({
        host: flags.host,
        context: flags.context,
        labels: flags.label ?? [],
        filters: flags.filter ?? [],
        playbook: flags.playbook,
        params,
        paramFlags: paramFlagsOf(params),
        evidenceDir: flags['evidence-dir'],
        compression: flags.compression as 'gzip' | 'none',
        logLevel: flags['log-level'] as LogLevel,
        ...durations,
        crashCount: flags['crash-count'],
        maxRecoveries: flags['max-recoveries'],
        maxParallel: flags['max-parallel'],
        quarantineOnFailure: flags['quarantine-on-failure'],
        healthFile: flags['health-file'],
        signal: stop.signal,
        hardSignal: hard.signal,
        onEvent: watchLogger(flags['log-format'] as 'human' | 'json', flags['log-level']),
      });
      this.setExitCode(ExitCode.ok);
    } catch (error) {
      // Stopped while it was still starting: as clean a stop as any other.
      if (stop.signal.aborted && error === stop.signal.reason) return this.setExitCode(ExitCode.ok);
      throw error;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}
