/**
 * `incident show` as data and as Markdown: every bundle of one incident as one timeline, the
 * state of each container now, what is still to undo, and whether each bundle verifies. Built by
 * src/engine/incident.ts; the HTML is incident-html.ts.
 */
import type { PendingUndo } from '../evidence/pending.js';
import { markdownCode as code, markdownText as cell } from './escape.js';
import { duration } from './model.js';
import type { TimelineRow } from './timeline.js';

export const incidentSchemaId = 'firebreak.incident/v1';

export interface IncidentRun {
  bundle: string;
  verified: boolean;
  problems: string[];
  runId?: string;
  playbook?: string;
  status?: string;
  startedAt?: string;
  operator?: string;
  containers: string[];
}

export interface IncidentTimelineRow extends TimelineRow {
  playbook: string;
  /** The bundle's file name (the folder is in `folders`). */
  bundle: string;
}

export interface IncidentContainer {
  id: string;
  name: string;
  /** `running`, `paused`, `exited`...; `gone` when the engine has no such container; absent when not asked. */
  state?: string;
  networks?: string[];
  /** One line: what the engine said, or why it was not asked. */
  detail: string;
}

export interface IncidentView {
  schema: typeof incidentSchemaId;
  /** `failed` when a bundle does not verify, else `succeeded`. */
  status: 'succeeded' | 'failed';
  incident: string;
  folders: string[];
  engine: { endpoint: string; reachable: boolean; error?: string };
  runs: IncidentRun[];
  timeline: IncidentTimelineRow[];
  containers: IncidentContainer[];
  undo: PendingUndo[];
}

export function renderIncidentMarkdown(view: IncidentView): string {
  const lines = [`# Incident ${cell(view.incident)}`, ''];
  const broken = view.runs.filter((r) => !r.verified);
  if (broken.length)
    lines.push(
      `> **${broken.length} of ${view.runs.length} bundles FAILED VERIFICATION**; do not rely on what they say:`,
      ...broken.map((r) => `> - ${cell(r.bundle)}: ${cell(r.problems.join('; '))}`),
      '',
    );
  lines.push(
    `${view.runs.length} run${view.runs.length === 1 ? '' : 's'} found; folders searched: ${cell(view.folders.join(', '))}.`,
    '',
  );
  lines.push('## Left to undo', '');
  if (view.undo.length === 0) lines.push('Nothing: every change recorded in this incident has been undone.');
  for (const u of view.undo)
    lines.push(
      `- ${cell(u.container)} is ${cell(u.what)} (since ${cell(u.at ?? '?')}); to undo: ${code(u.command, false)}`,
    );
  lines.push('', '## Containers now', '');
  if (!view.engine.reachable)
    lines.push(`The engine ${cell(view.engine.endpoint)} could not be asked: ${cell(view.engine.error ?? '')}.`, '');
  lines.push('| container | id | state now |', '| --- | --- | --- |');
  for (const c of view.containers) lines.push(`| ${cell(c.name)} | ${cell(c.id.slice(0, 12))} | ${cell(c.detail)} |`);
  lines.push(
    '',
    '## Runs',
    '',
    '| started | playbook | containers | status | operator | verified | bundle |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const r of view.runs)
    lines.push(
      `| ${cell(r.startedAt ?? '?')} | ${cell(r.playbook ?? '?')} | ${cell(r.containers.join(', '))} | ${cell(r.status ?? 'unreadable')} | ${cell(r.operator ?? '')} | ${r.verified ? 'yes' : '**NO**'} | ${code(r.bundle)} |`,
    );
  lines.push(
    '',
    '## Timeline',
    '',
    'Times are UTC.',
    '',
    '| time | playbook | container | step | action | result | took | detail |',
    '| --- | --- | --- | --- | --- | --- | ---: | --- |',
  );
  for (const row of view.timeline) {
    const result = row.status === 'succeeded' ? cell(row.result) : `**${cell(row.result)}**`;
    lines.push(
      `| ${cell(row.at ? `${row.at.slice(0, 10)} ${row.at.slice(11, 23)}` : '')} | ${cell(row.playbook)} | ${cell(row.container)} | ${cell(row.step)} | ${cell(row.uses)} | ${result} | ${cell(duration(row.durationMs))} | ${cell(row.detail)} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}
