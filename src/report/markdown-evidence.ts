/**
 * The Markdown of what the bundle holds about one container: changed paths, processes, one
 * resource sample, the last log lines and the image. Every value goes through the escapes of
 * escape.ts: they come from the container.
 */
import { markdownCode as code, markdownText as cell } from './escape.js';
import { changedPathCap } from './changes.js';
import type { LogExcerpt } from './logs.js';
import type { TargetReport } from './model.js';

export function evidenceLines(target: TargetReport): string[] {
  return [
    ...imageLines(target),
    ...changeLines(target),
    ...processLines(target),
    ...resourceLines(target),
    ...logLines(target.logs),
  ];
}

function imageLines({ imageFacts: image }: TargetReport): string[] {
  const pins = [...image.digests.map((d) => code(d, false)), ...(image.id ? [`id ${code(image.id, false)}`] : [])];
  return [`**Image** ${code(image.name, false) || '(none)'}${pins.length ? `: ${pins.join(', ')}` : ''}.`, ''];
}

function changeLines({ changes }: TargetReport): string[] {
  if (!changes) return [];
  const head = `### Changed paths: ${changes.added} added, ${changes.changed} changed, ${changes.deleted} deleted`;
  if (changes.total === 0) return [head, '', 'The writable layer holds no change.', ''];
  const lines = [head, ''];
  if (changes.sensitive > 0) lines.push(`${changes.sensitive} in places a responder looks at first, listed first.`, '');
  lines.push('| path | change | why look |', '| --- | --- | --- |');
  for (const row of changes.shown)
    lines.push(
      `| ${code(row.path)} | ${row.kind === 'changed' ? 'changed' : `**${row.kind}**`} | ${cell(row.sensitive ?? '')} |`,
    );
  if (changes.total > changes.shown.length)
    lines.push('', `The first ${changedPathCap} of ${changes.total} are shown; diff.json lists them all.`);
  return [...lines, ''];
}

function processLines({ processes }: TargetReport): string[] {
  if (!processes) return [];
  const lines = [`### Processes (${processes.total})`, '', '| user | pid | command |', '| --- | ---: | --- |'];
  for (const p of processes.rows) lines.push(`| ${cell(p.user)} | ${cell(p.pid)} | ${code(p.command)} |`);
  if (processes.total > processes.rows.length)
    lines.push('', `The first ${processes.rows.length} of ${processes.total} are shown; top.json lists them all.`);
  return [...lines, ''];
}

function resourceLines({ resources }: TargetReport): string[] {
  if (!resources) return [];
  const lines = [
    `### Resources${resources.at ? ` at ${cell(resources.at)}` : ''}`,
    '',
    '| resource | use against the limit |',
    '| --- | --- |',
  ];
  for (const row of resources.rows) lines.push(`| ${row.name} | ${cell(row.text)} |`);
  return [...lines, ''];
}

function logLines(logs: LogExcerpt | undefined): string[] {
  if (!logs) return [];
  const lines: string[] = [];
  for (const stream of ['stdout', 'stderr'] as const) {
    const text = logs[stream];
    if (text === undefined) continue;
    lines.push(`### Last lines of ${stream}`, '');
    lines.push(...(text.length ? fenced(text) : ['(empty)']), '');
  }
  return lines;
}

/**
 * Lines as a fenced block: a fence longer than any run of backticks in them, so none can close
 * it. Control characters are already visible (logs.ts); nothing in a fence is Markdown or HTML.
 */
function fenced(lines: readonly string[]): string[] {
  const longest = Math.max(2, ...lines.flatMap((l) => (l.match(/`+/g) ?? []).map((run) => run.length)));
  const fence = '`'.repeat(longest + 1);
  return [`${fence}text`, ...lines, fence];
}
