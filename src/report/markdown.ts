import type { RunRecord } from '../evidence/record.js';
import { markdownCode as code, markdownText as cell } from './escape.js';
import type { Finding } from './findings.js';
import { evidenceLines } from './markdown-evidence.js';
import type { TargetEvidence } from './sources.js';
import {
  buildReport,
  clock,
  duration,
  sizeText,
  spansDays,
  type ChangedFiles,
  type ReportModel,
  type TargetReport,
} from './model.js';

/**
 * report.md: what was done to which container, when and by whom, the hardening findings, and the
 * evidence kept. Meant to be pasted into an incident ticket as it is.
 */
export function renderMarkdown(model: ReportModel): string {
  const run = model.run;
  const lines: string[] = [`# ${cell(model.title)}`, '', ...verificationLines(model)];
  if (run.description) lines.push(cell(run.description), '');
  lines.push(...summaryLines(model));
  lines.push(
    '| | |',
    '| --- | --- |',
    `| incident | ${cell(run.incident)} |`,
    `| containers | ${cell(model.targets.map((t) => `${t.name} (${t.status})`).join(', ') || 'none')} |`,
    `| operator | ${cell(run.operator)} |`,
    `| started | ${cell(run.startedAt)} |`,
    `| ended | ${cell(run.endedAt)} (${cell(duration(run.durationMs))}) |`,
    `| playbook | ${cell(`${run.playbook} (${run.source})`)} |`,
    `| params | ${code(JSON.stringify(run.params))} |`,
    `| engine | ${cell(run.engine)} |`,
    `| run | ${cell(run.runId)}, ${cell(run.tool)} |`,
    '',
  );
  if (run.error) lines.push(`**Run error:** ${cell(run.error)}`, '');
  lines.push(...timelineSection(model), ...model.targets.flatMap(targetSection), ...evidenceSection(model));
  return `${lines.join('\n')}\n`;
}

/**
 * The run-time entry point: run.json plus the report sources the run kept, by container id, and
 * the path the bundle will have (for the undo commands' --from), when the folder took it.
 */
export function renderRunMarkdown(
  record: RunRecord,
  evidence: ReadonlyMap<string, TargetEvidence>,
  bundle?: string,
): string {
  return renderMarkdown(buildReport(record, evidence, bundle ? { bundle } : {}));
}

/** First thing a reader sees: evidence that does not verify must not read as a clean record. */
function verificationLines(model: ReportModel): string[] {
  const check = model.verification;
  if (!check) return [];
  if (check.ok) return [`Bundle ${code(model.bundle ?? '', false)} verified: every file matches its manifest.`, ''];
  return [
    `> **THIS BUNDLE FAILED VERIFICATION.** Its contents may have been changed or damaged since it was written; do not rely on what follows. \`firebreak bundle verify\` found:`,
    ...check.problems.map((p) => `> - ${cell(p)}`),
    '',
  ];
}

function summaryLines(model: ReportModel): string[] {
  const { done, state, todo, undo, incidentCommand } = model.summary;
  const lines = ['## Summary', '', '**Done:**', '', ...done.map((d) => `- ${cell(d)}`), ''];
  lines.push('**State at the end of the run:**', '', ...state.map((d) => `- ${cell(d)}`), '');
  lines.push('**Left to do:**', '');
  if (undo.length === 0 && todo.length === 0) lines.push('- nothing: no change of this run is still in place');
  for (const u of undo) lines.push(`- ${cell(u.container)} is ${cell(u.what)}; to undo: ${code(u.command, false)}`);
  for (const t of todo) lines.push(`- look at ${cell(t)}`);
  lines.push(
    '',
    `Every run of incident ${cell(model.run.incident)}, and what they left to undo: ${code(incidentCommand, false)}.`,
  );
  return [...lines, ''];
}

function timelineSection(model: ReportModel): string[] {
  if (model.timeline.length === 0) return ['## Timeline', '', 'No step ran.', ''];
  const withDate = spansDays(model);
  const lines = [
    '## Timeline',
    '',
    `Times are UTC${withDate ? '' : `, on ${cell(model.run.startedAt.slice(0, 10))}`}; every step was run by ${cell(model.run.operator)}.`,
    '',
  ];
  lines.push(
    '| time | container | step | action | result | took | detail |',
    '| --- | --- | --- | --- | --- | ---: | --- |',
  );
  for (const row of model.timeline) {
    const result = row.status === 'succeeded' ? cell(row.result) : `**${cell(row.result)}**`;
    lines.push(
      `| ${cell(clock(row.at, withDate))} | ${cell(row.container)} | ${cell(row.step)} | ${cell(row.uses)} | ${result} | ${cell(duration(row.durationMs))} | ${cell(row.detail)} |`,
    );
  }
  lines.push('');
  return lines;
}

function targetSection(target: TargetReport): string[] {
  const lines = [`## ${cell(target.name)} (${cell(target.id.slice(0, 12))}): ${cell(target.status)}`, ''];
  lines.push(...evidenceLines(target));
  if (target.files) lines.push(...filesLines(target.files));
  if (!target.inspected) {
    lines.push(
      'No inspect document for this container in the bundle (the playbook has no `evidence.inspect` step, or it failed), so no hardening findings.',
      '',
    );
    return lines;
  }
  const { risk, warn, ok } = target.summary;
  lines.push(
    `### Hardening: ${cell(String(risk))} risk, ${cell(String(warn))} warn, ${cell(String(ok))} ok`,
    '',
    '| check | value | | why it matters |',
    '| --- | --- | --- | --- |',
  );
  for (const f of target.findings)
    lines.push(`| ${cell(f.check)} | ${cell(f.value)} | ${levelMark(f)} | ${cell(f.why)} |`);
  lines.push('');
  if (target.env.length > 0) {
    lines.push(
      '### Environment',
      '',
      'Values of names that look secret (password, token, secret, key, PAT, DSN...), the password of a URL and `password=` inside a value are masked; inspect.json in the bundle holds them.',
      '',
    );
    lines.push('| name | value |', '| --- | --- |');
    for (const e of target.env) lines.push(`| ${cell(e.name)} | ${code(e.value)} |`);
    lines.push('');
  }
  return lines;
}

function filesLines(files: ChangedFiles): string[] {
  const lines = [`**Changed files:** ${cell(files.summary)}.`];
  if (files.leftOut > 0) {
    lines.push(
      '',
      `${files.leftOut} ${files.leftOut === 1 ? 'file was' : 'files were'} left out of files.tar over the size cap (\`forensics --files-max-bytes\`); files.json lists each with its size, and only a filesystem export has them.`,
    );
  }
  return [...lines, ''];
}

function evidenceSection(model: ReportModel): string[] {
  if (model.evidence.length === 0) return [];
  const lines = ['## Evidence', '', '| file | size | sha256 |', '| --- | ---: | --- |'];
  for (const e of model.evidence) {
    const incomplete = e.incomplete ? ` (incomplete: ${cell(e.incomplete)})` : '';
    lines.push(`| ${cell(e.path)}${incomplete} | ${cell(sizeText(e.size))} | ${code(e.sha256)} |`);
  }
  lines.push(
    '',
    'run.json, report.md, the manifests and bag-info.txt are not listed: manifest-sha256.txt and tagmanifest-sha256.txt hash them. ' +
      'Check the whole bundle with `firebreak bundle verify`, or unpack it and run `sha256sum -c manifest-sha256.txt`.',
    '',
  );
  return lines;
}

function levelMark(finding: Finding): string {
  return finding.level === 'risk' ? '**RISK**' : finding.level === 'warn' ? 'warn' : 'ok';
}
