import type { RunRecord, StepRecord, TargetRecord } from '../evidence/record.js';
import { maskSecrets } from '../secrets.js';

/** report.md: what was done to which container, when and by whom, and what evidence was kept. */
export function renderMarkdown(record: RunRecord): string {
  const lines: string[] = [];
  lines.push(`# firebreak ${record.playbook.name}: ${record.status}`, '');
  lines.push(
    `| | |`,
    `| --- | --- |`,
    `| incident | ${cell(record.incident)} |`,
    `| run | ${record.runId} |`,
    `| started | ${record.startedAt} |`,
    `| ended | ${record.endedAt} (${seconds(record.durationMs)}) |`,
    `| operator | ${cell(`${record.operator.user}@${record.operator.host}`)} |`,
    `| engine | ${cell(`${record.engine.endpoint}, Docker ${record.engine.version ?? '?'}, API ${record.engine.apiVersion ?? '?'}`)} |`,
    `| playbook | ${cell(record.playbook.source)} |`,
    `| params | ${cell(JSON.stringify(maskSecrets(record.params)))} |`,
    '',
  );
  if (record.error) lines.push(`**Run error:** ${cell(record.error)}`, '');
  for (const target of record.targets) lines.push(...targetSection(target));
  if (record.artifacts.length > 0) {
    lines.push('## Evidence', '', '| file | bytes | sha256 |', '| --- | ---: | --- |');
    for (const a of record.artifacts) lines.push(`| data/${cell(a.path)} | ${a.size} | \`${a.sha256}\` |`);
    lines.push('', 'run.json, report.md and the manifests are hashed in manifest-sha256.txt and tagmanifest-sha256.txt.', '');
  }
  return `${lines.join('\n')}\n`;
}

function targetSection(target: TargetRecord): string[] {
  const lines = [`## ${cell(target.name)} (${target.id.slice(0, 12)}): ${target.status}`, '', `Image: \`${target.image}\``, ''];
  lines.push('| time (UTC) | step | type | result | detail |', '| --- | --- | --- | --- | --- |');
  const rows = (steps: readonly StepRecord[], prefix = ''): void => {
    for (const step of steps) {
      const result = step.status === 'succeeded' && step.changed === false ? 'succeeded (already so)' : step.status;
      const detail = step.error ?? step.note ?? '';
      const time = step.startedAt ? step.startedAt.slice(11, 23) : '';
      const retried = step.attempts > 1 ? ` after ${step.attempts} attempts` : '';
      lines.push(`| ${time} | ${prefix}${cell(step.id)} | ${step.uses} | ${result}${retried} | ${cell(detail)} |`);
      if (step.steps) rows(step.steps, `${prefix}${step.id} / `);
    }
  };
  rows(target.steps);
  if (target.onFailure?.length) rows(target.onFailure, 'on-failure / ');
  lines.push('');
  return lines;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}
