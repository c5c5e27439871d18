/**
 * A command run across several engines (--fleet, repeated --context or --host): the request for
 * runFleet, one line per engine as it finishes, then each engine's result and the index last.
 */
import { ExitCode } from '../errors.js';
import type { FleetEngine } from '../engine/fleet-file.js';
import type { FleetEngineResult, FleetOutcome } from '../engine/fleet.js';
import type { LoadedPlaybook } from '../engine/playbook.js';
import type { RunRequest } from '../engine/request.js';
import type { LogLevel } from '../log.js';
import type { FirebreakCommand } from './base.js';
import { interruptOn } from './base.js';
import { canPrompt, confirm } from './confirm.js';
import type { RunFlagValues } from './flags.js';
import { createProgress } from './progress.js';
import { evidenceProblem, outcomeJson, renderOutcome } from './render.js';
import { visibleControls } from './terminal.js';

export const fleetSchemaId = 'firebreak.fleet/v1';

export async function runFleetCommand(
  command: FirebreakCommand,
  engines: FleetEngine[],
  playbook: string | LoadedPlaybook,
  targets: string[],
  flags: RunFlagValues,
  params: Record<string, unknown>,
  options: Pick<RunRequest, 'freeze' | 'recordOf' | 'paramFlags' | 'signer'>,
): Promise<unknown> {
  const json = command.jsonEnabled();
  const name = typeof playbook === 'string' ? playbook : playbook.name;
  const controller = new AbortController();
  const stopSignals = interruptOn(controller);
  try {
    // One question for the whole fleet, before any engine is touched; never without a terminal.
    if (!flags.yes && !flags['dry-run'] && canPrompt()) {
      const asked = `Run ${name} on ${engines.length} engines (${engines.map((e) => e.name).join(', ')})?`;
      if (!(await confirm(asked, controller.signal))) {
        command.setExitCode(ExitCode.interrupted);
        if (!json) process.stdout.write(`${name}: not confirmed; nothing was changed\n`);
        return { schema: fleetSchemaId, status: 'declined', exitCode: ExitCode.interrupted, engines: [] };
      }
    }
    const { runFleet } = await import('../engine/fleet.js');
    const outcome = await runFleet({
      engines,
      parallel: flags.engines,
      run: {
        playbook,
        params,
        paramFlags: Object.fromEntries(Object.keys(params).map((p) => [p, `--${p}`])),
        references: targets,
        filters: flags.filter ?? [],
        evidenceDir: flags['evidence-dir'],
        incident: flags.incident,
        dryRun: flags['dry-run'],
        concurrency: flags.concurrency,
        compression: flags.compression as 'gzip' | 'none',
        logLevel: flags['log-level'] as LogLevel,
        signal: controller.signal,
        ...options,
        // Engines run side by side: one live display per engine would garble the terminal.
        progress: createProgress('silent'),
        onNotice: (message) => process.stderr.write(`${visibleControls(message)}\n`),
      },
      onEngine: (result) => {
        if (!json) process.stderr.write(`${visibleControls(engineLine(result))}\n`);
      },
    });
    command.setExitCode(outcome.exitCode);
    if (!json) process.stdout.write(renderFleet(outcome));
    for (const result of outcome.engines) {
      const problem = result.outcome && evidenceProblem(result.outcome);
      if (problem) process.stderr.write(`firebreak: ${result.engine.name}: ${visibleControls(problem)}\n`);
    }
    if (outcome.indexError) process.stderr.write(`firebreak: ${visibleControls(outcome.indexError)}\n`);
    return fleetJson(outcome);
  } finally {
    stopSignals();
  }
}

function engineWhere(engine: FleetEngine): string {
  return engine.context !== undefined ? `context ${engine.context}` : `${engine.host}`;
}

/** `engine web-eu (context web-eu): succeeded, exit 0` */
function engineLine(result: FleetEngineResult): string {
  const why = result.error ? `: ${result.error}` : '';
  const status = result.status === 'skipped' ? `skipped${why}` : `${result.status}, exit ${result.exitCode}${why}`;
  return `engine ${result.engine.name} (${engineWhere(result.engine)}): ${status}`;
}

/** Each engine's own result under a header, then one line per engine, the index last. */
export function renderFleet(outcome: FleetOutcome): string {
  const parts: string[] = [];
  for (const result of outcome.engines) {
    parts.push(`== ${engineLine(result)}\n`);
    if (result.outcome) parts.push(renderOutcome(result.outcome));
  }
  const lines = [
    `${outcome.playbook} ${outcome.status} on ${outcome.engines.length} engines (incident ${outcome.incident}), exit ${outcome.exitCode}`,
    ...outcome.engines.map((r) => `  ${engineLine(r)}`),
  ];
  if (outcome.index) lines.push(`index ${outcome.index.path} sha256 ${outcome.index.sha256}`);
  return parts.join('') + lines.map((l) => visibleControls(l)).join('\n') + '\n';
}

/** --json: one firebreak.fleet/v1 document, each engine's run as `firebreak run` would print it. */
export function fleetJson(outcome: FleetOutcome): unknown {
  return {
    schema: fleetSchemaId,
    status: outcome.status,
    exitCode: outcome.exitCode,
    playbook: outcome.playbook,
    incident: outcome.incident,
    ...(outcome.index ? { index: outcome.index } : {}),
    ...(outcome.indexError ? { indexError: outcome.indexError } : {}),
    engines: outcome.engines.map((r) => ({
      name: r.engine.name,
      ...(r.engine.context !== undefined ? { context: r.engine.context } : { host: r.engine.host }),
      labels: r.engine.labels,
      status: r.status,
      exitCode: r.exitCode,
      ...(r.error ? { error: r.error } : {}),
      ...(r.outcome ? { run: outcomeJson(r.outcome) } : {}),
    })),
  };
}
