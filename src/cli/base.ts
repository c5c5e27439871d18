import { Command } from '@oclif/core';
import { exitCodeOf, ExitCode, FirebreakError, InterruptedError, messageOf, UsageError } from '../errors.js';
import { stateChangesInFlight } from '../engine/inflight.js';
import type { LoadedPlaybook } from '../engine/playbook.js';
import type { RunOutcome, RunRequest } from '../engine/request.js';
import type { LogLevel } from '../log.js';
import { readSigningKey } from '../evidence/ssh-key.js';
import { canPrompt, confirm } from './confirm.js';
import { visibleControls } from './terminal.js';
import type { RunFlagValues } from './flags.js';
import { createProgress, progressModeFor } from './progress.js';
import { errorDocument } from './json.js';
import { evidenceProblem, outcomeJson, renderOutcome } from './render.js';

/**
 * What every firebreak command shares: one place that turns errors into a one-line message and
 * the exit code from the table, and one way to run a playbook and show its result.
 */
export abstract class FirebreakCommand extends Command {
  static override enableJsonFlag = true;

  /** Set from the table in errors.ts; bin/run.js exits with it once oclif is done. */
  setExitCode(code: number): void {
    process.exitCode = code;
  }

  protected async runPlaybookCommand(
    playbook: string | LoadedPlaybook,
    targets: string[],
    flags: RunFlagValues,
    params: Record<string, unknown>,
    options: Pick<RunRequest, 'freeze' | 'recordOf' | 'paramFlags'> = {},
  ): Promise<unknown> {
    const json = this.jsonEnabled();
    for (const flag of ['evidence-dir', 'incident'] as const) {
      if (flags[flag]?.trim() === '') throw new UsageError(`--${flag} is empty: give a value or leave the flag out`);
    }
    if (targets.length === 0 && !flags.filter?.length) {
      throw new UsageError('name at least one container (name, id or id prefix) or select with --filter KEY=VALUE');
    }
    // A bad key is bad input, said before anything changes; the bag records its fingerprint.
    if (/[\r\n]/.test(flags['sign-identity'] ?? '')) throw new UsageError('--sign-identity contains a line break');
    const signingKey = flags.sign === undefined ? undefined : await readSigningKey(flags.sign);
    const { fleetEngines } = await import('../engine/fleet-file.js');
    const fleet = fleetEngines(flags);
    const signer = signingKey ? { signer: { key: signingKey, identity: flags['sign-identity'] } } : {};
    if (fleet) {
      const { runFleetCommand } = await import('./fleet.js');
      return runFleetCommand(this, fleet, playbook, targets, flags, params, { ...options, ...signer });
    }
    const controller = new AbortController();
    const stopSignals = interruptOn(controller);
    try {
      const { runPlaybook } = await import('../engine/run.js');
      const outcome: RunOutcome = await runPlaybook({
        playbook,
        params,
        // A command names its params after its flags (forensics --since is params.since); run says otherwise.
        paramFlags: Object.fromEntries(Object.keys(params).map((name) => [name, `--${name}`])),
        references: targets,
        filters: flags.filter ?? [],
        host: flags.host?.[0],
        context: flags.context?.[0],
        evidenceDir: flags['evidence-dir'],
        incident: flags.incident,
        dryRun: flags['dry-run'],
        concurrency: flags.concurrency,
        compression: flags.compression as 'gzip' | 'none',
        logLevel: flags['log-level'] as LogLevel,
        signal: controller.signal,
        ...options,
        ...signer,
        progress: createProgress(progressModeFor(json)),
        // On stderr even with --json: stdout holds the document, and a warning must still be seen.
        onNotice: (message) => process.stderr.write(`${visibleControls(message)}\n`),
        onTargets: (found) => {
          if (!json && found.length > 1) {
            process.stderr.write(
              `${found.length} containers matched: ${visibleControls(found.map((t) => t.name).join(', '))}\n`,
            );
          }
        },
        confirm: async (found, plans) => {
          const changes = plans.some((plan) => plan.steps.some((step) => step.mutates));
          if (flags.yes || found.length < 2 || !changes || !canPrompt()) return true;
          return confirm(
            `Run ${typeof playbook === 'string' ? playbook : playbook.name} on these ${found.length} containers?`,
            controller.signal,
          );
        },
      });
      this.setExitCode(outcome.exitCode);
      if (!json) process.stdout.write(renderOutcome(outcome));
      const problem = evidenceProblem(outcome);
      if (problem) process.stderr.write(`firebreak: ${visibleControls(problem)}\n`);
      if (outcome.engineLost) process.stderr.write(`firebreak: ${visibleControls(outcome.engineLost)}\n`);
      return outcomeJson(outcome);
    } finally {
      stopSignals();
    }
  }

  /** oclif prints --json as is; JSON.stringify leaves DEL and C1 controls raw, which a terminal obeys. */
  override logJson(json: unknown): void {
    process.stdout.write(`${visibleControls(JSON.stringify(json, null, 2), true)}\n`);
  }

  /** One line, the exit code from the table; a stack only at --log-level debug. */
  protected override async catch(error: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    if (error.oclif?.exit !== undefined && !(error instanceof FirebreakError)) {
      // oclif's own parse errors (unknown flag, missing argument) are usage errors: exit 2.
      if (error.oclif.exit === 0) throw error;
      return this.fail(new UsageError(oneLine(error.message)), ExitCode.usage);
    }
    return this.fail(error, exitCodeOf(error));
  }

  private fail(error: Error, code: number): unknown {
    process.exitCode = code;
    if (this.jsonEnabled()) {
      this.logJson(errorDocument(error, code));
    } else {
      process.stderr.write(`firebreak: ${visibleControls(messageOf(error))}\n`);
      if (wantsStack(this.argv) || process.env.FIREBREAK_DEBUG)
        process.stderr.write(`${visibleControls(error.stack ?? '', true)}\n`);
    }
    return undefined;
  }
}

/**
 * --log-level debug or trace, read from the arguments themselves: the flags may not have parsed
 * (that can be the error being shown), and a container named `debug` is not a flag.
 */
function wantsStack(argv: readonly string[]): boolean {
  const verbose = (level: string | undefined) => level === 'debug' || level === 'trace';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return false;
    if (arg === '--log-level' && verbose(argv[i + 1])) return true;
    if (arg.startsWith('--log-level=') && verbose(arg.slice('--log-level='.length))) return true;
  }
  return false;
}

/** oclif's parse errors span lines; ours are one line, with the useful part kept. */
function oneLine(message: string): string {
  return (
    message
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean)
      .join(' ')
      .replace(/\s+/g, ' ')
      .replace(/^The following errors? occurred: /, '')
      // oclif's note about greedy multi-value flags does not apply: ours are non-greedy.
      .replace(/ Note: .*?(?= See more help|$)/, '')
  );
}

/**
 * Ctrl-C or SIGTERM aborts the run, which still finalises its bundle. State changes in flight
 * finish first, so what they changed is recorded; a second Ctrl-C quits at once, unless one is
 * still in flight: then it says so, and only a third quits without the record.
 */
export function interruptOn(controller: AbortController): () => void {
  let warned = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      const inflight = stateChangesInFlight();
      if (inflight > 0 && !warned) {
        warned = true;
        process.stderr.write(
          `firebreak: waiting for ${inflight} state change${inflight === 1 ? '' : 's'} in flight to finish and be recorded; ${signal} again quits without that record\n`,
        );
        return;
      }
      process.exit(ExitCode.interrupted);
    }
    process.stderr.write(`\nfirebreak: ${signal}: stopping; finalising the evidence bundle (again to quit now)\n`);
    controller.abort(new InterruptedError(`interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
