import type { TargetPlan, PlannedStep } from '../engine/plan.js';
import type { RunOutcome } from '../engine/request.js';
import type { RunRecord, StepRecord } from '../evidence/record.js';
import { describeChoice } from '../docker/connect.js';
import { formatDuration } from '../duration.js';
import { formatBytes } from '../bytes.js';
import { dirname, resolve } from 'node:path';
import { schemaId } from './json.js';
import { visibleControls } from './terminal.js';

/** The human result on stdout. Its last line always names the bundle and its SHA-256. */
export function renderOutcome(outcome: RunOutcome): string {
  const engine = outcome.engine ? terminalLines([engineLine(outcome.engine)]) : '';
  if (outcome.status === 'planned') return renderPlan(outcome.playbook, outcome.plan ?? []) + engine;
  if (outcome.status === 'declined') return `${outcome.playbook}: not confirmed; nothing was changed\n`;
  const record = outcome.record!;
  const lines = [
    `${record.playbook.name} ${record.status} on ${plural(record.targets.length, 'container')} ` +
      `in ${formatDuration(record.durationMs)} (incident ${record.incident})`,
    engineLine(outcome.engine ?? record.engine),
  ];
  for (const target of record.targets) {
    lines.push(`  ${target.name} (${target.id.slice(0, 12)}): ${target.status}`);
    for (const step of [...target.steps, ...(target.onFailure ?? [])]) lines.push(`    ${stepLine(step)}`);
  }
  lines.push(...evidenceLines(outcome));
  return terminalLines(lines);
}

/** Which engine acted, and how it was chosen: a responder must never wonder which machine this was. */
export function engineLine(engine: RunRecord['engine']): string {
  const name = engine.name ? `${engine.name}: ` : '';
  const chosen = engine.source ? `, chosen by ${describeChoice(engine as Parameters<typeof describeChoice>[0])}` : '';
  const id = engine.id ? `, engine ID ${engine.id}` : '';
  return `  engine ${name}${engine.endpoint}${chosen}${id}`;
}

/**
 * Notes and errors carry engine messages and webhook answers: each line is made safe for the
 * terminal on its own, so an embedded line break cannot start a line that looks like ours.
 */
function terminalLines(lines: readonly string[]): string {
  return `${lines.map((line) => visibleControls(line)).join('\n')}\n`;
}

/** Where the evidence went, loudly when it is not where it was asked to go; the bundle line comes last. */
function evidenceLines(outcome: RunOutcome): string[] {
  const { bundle } = outcome;
  if (!bundle)
    return [
      `NO BUNDLE WAS WRITTEN: ${outcome.evidenceError ?? 'unknown reason'}; the lines above are the only record of this run`,
    ];
  const lines: string[] = [];
  const { fallback } = bundle;
  if (fallback) {
    const free = fallback.freeBytes === undefined ? '' : `, ${formatBytes(fallback.freeBytes)} free`;
    lines.push(
      `EVIDENCE FOLDER UNUSABLE: ${fallback.folder} could not take the bundle (${fallback.reason}); ` +
        `it needs about ${formatBytes(fallback.neededBytes)}${free}. The bundle was written to the fallback folder instead:`,
    );
    if (fallback.lost.length)
      lines.push(
        `not kept anywhere (the disk refused them and they could not be held in memory): ${fallback.lost.join(', ')}`,
      );
    if (fallback.partialKept)
      lines.push(
        `kept ${fallback.partialKept}: it holds artifacts the bundle lacks; run \`firebreak bundle recover\` once there is room`,
      );
  }
  if (bundle.warning) lines.push(`warning: bundle ${bundle.path}: ${bundle.warning}`);
  // Said every time: the folder is per user now, and at 3 a.m. nobody remembers where it is.
  if (!fallback) lines.push(`evidence folder ${resolve(dirname(bundle.path))}`);
  const { signature } = outcome;
  if (signature) lines.push(`signed by ${signature.identity} (${signature.fingerprint}): ${signature.path}`);
  lines.push(`bundle ${bundle.path} sha256 ${bundle.sha256}`);
  return lines;
}

/** One line a person reads for an operator whose evidence did not go where asked. */
export function evidenceProblem(outcome: RunOutcome): string | undefined {
  if (outcome.evidenceError) return `no bundle was written: ${outcome.evidenceError}`;
  const fallback = outcome.bundle?.fallback;
  if (!fallback) return undefined;
  const free = fallback.freeBytes === undefined ? '' : ` (${fallback.freeBytes} bytes free)`;
  return `evidence folder ${fallback.folder} could not take the bundle: ${fallback.reason}; it needs about ${fallback.neededBytes} bytes${free}; bundle written to ${outcome.bundle!.path}`;
}

function stepLine(step: StepRecord): string {
  const mark = { succeeded: 'ok  ', failed: 'FAIL', skipped: 'skip', aborted: 'STOP' }[step.status];
  const already = step.status === 'succeeded' && step.changed === false ? ' (no change)' : '';
  const detail = step.error ?? step.note ?? '';
  const tolerated = step.status === 'failed' && step.continueOnError ? ' (continue-on-error)' : '';
  return `${mark} ${step.id}${already}${tolerated}${detail ? `: ${detail}` : ''}`;
}

export function renderPlan(playbook: string, plans: readonly TargetPlan[]): string {
  const lines = [`${playbook}: plan for ${plural(plans.length, 'container')} (dry run: nothing was changed)`];
  for (const plan of plans) {
    lines.push(`  ${plan.target.name} (${plan.target.id.slice(0, 12)}, ${plan.target.image})`);
    plan.steps.forEach((step, i) => lines.push(...planLines(step, `    ${i + 1}. `, '       ')));
    if (plan.onFailure.length) {
      lines.push('    on failure:');
      plan.onFailure.forEach((step) => lines.push(...planLines(step, '      - ', '        ')));
    }
  }
  return terminalLines(lines);
}

function planLines(step: PlannedStep, first: string, rest: string): string[] {
  const flags = [step.mutates ? 'changes state' : '', step.retry ?? '', step.continueOnError ? 'continue on error' : '']
    .filter(Boolean)
    .join('; ');
  const lines = [`${first}${step.id} [${step.uses}] ${step.line}${flags ? ` (${flags})` : ''}`];
  step.steps?.forEach((child, i) => lines.push(...planLines(child, `${rest}${i + 1}. `, `${rest}   `)));
  return lines;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** What --json prints: the outcome without the parts only the bundle needs. */
export function outcomeJson(outcome: RunOutcome): unknown {
  return {
    schema: schemaId('run'),
    status: outcome.status,
    exitCode: outcome.exitCode,
    playbook: outcome.playbook,
    incident: outcome.incident,
    runId: outcome.runId,
    ...(outcome.engine ? { engine: outcome.engine } : {}),
    ...(outcome.bundle ? { bundle: outcome.bundle } : {}),
    ...(outcome.signature ? { signature: outcome.signature } : {}),
    ...(outcome.evidenceError ? { evidenceError: outcome.evidenceError } : {}),
    ...(outcome.engineLost ? { engineLost: outcome.engineLost } : {}),
    ...(outcome.record
      ? {
          targets: outcome.record.targets,
          startedAt: outcome.record.startedAt,
          endedAt: outcome.record.endedAt,
        }
      : {}),
    ...(outcome.status === 'planned' ? { plan: outcome.plan } : {}),
  };
}
