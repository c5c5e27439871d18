/**
 * The HTML of what the bundle holds about one container: changed paths, processes, one resource
 * sample drawn as a small inline SVG (no script, no request: the page's CSP allows none), the
 * last log lines and the image. Every value goes through `htmlText`: they come from the container.
 */
import { htmlText as esc } from './escape.js';
import { changedPathCap } from './changes.js';
import type { LogExcerpt } from './logs.js';
import type { TargetReport } from './model.js';
import { shareOf, type ResourceSample } from './resources.js';

export function evidenceHtml(target: TargetReport): string {
  return [image(target), changes(target), processes(target), resources(target.resources), logs(target.logs)].join('');
}

function image({ imageFacts: facts }: TargetReport): string {
  const pins = [
    ...facts.digests.map((d) => `<code>${esc(d)}</code>`),
    ...(facts.id ? [`id <code>${esc(facts.id)}</code>`] : []),
  ];
  return `<p>Image <code>${esc(facts.name)}</code>${pins.length ? `: ${pins.join(', ')}` : ''}</p>`;
}

function changes({ changes: c }: TargetReport): string {
  if (!c) return '';
  const head = `<h3>Changed paths <span class="muted">${c.added} added, ${c.changed} changed, ${c.deleted} deleted</span></h3>`;
  if (c.total === 0) return `${head}<p class="muted">The writable layer holds no change.</p>`;
  const rows = c.shown.map(
    (r) =>
      `<tr${r.sensitive ? ' class="sensitive"' : ''}><td><code>${esc(r.path)}</code></td><td><span class="change ${r.kind}">${r.kind}</span></td><td>${esc(r.sensitive ?? '')}</td></tr>`,
  );
  const more =
    c.total > c.shown.length
      ? `<p class="muted">The first ${changedPathCap} of ${c.total} are shown; diff.json lists them all.</p>`
      : '';
  return `${head}${table(['path', 'change', 'why look'], rows)}${more}`;
}

function processes({ processes: p }: TargetReport): string {
  if (!p) return '';
  const rows = p.rows.map(
    (r) => `<tr><td>${esc(r.user)}</td><td class="num">${esc(r.pid)}</td><td><code>${esc(r.command)}</code></td></tr>`,
  );
  const more =
    p.total > p.rows.length
      ? `<p class="muted">The first ${p.rows.length} of ${p.total} are shown; top.json lists them all.</p>`
      : '';
  return `<h3>Processes <span class="muted">${p.total}</span></h3>${table(['user', 'pid', 'command'], rows)}${more}`;
}

function resources(sample: ResourceSample | undefined): string {
  if (!sample) return '';
  const at = sample.at ? ` <span class="muted">at ${esc(sample.at)}</span>` : '';
  const rows = sample.rows.map((r) => `<tr><td>${esc(r.name)}</td><td>${esc(r.text)}</td></tr>`);
  return `<h3>Resources${at}</h3>${resourceSvg(sample)}${table(['resource', 'use against the limit'], rows)}`;
}

/** One bar per resource with a limit (or, for memory, the host's): how full it was. */
export function resourceSvg(sample: ResourceSample): string {
  const bars = sample.rows.flatMap((row) => {
    const share = shareOf(row);
    return share === undefined ? [] : [{ row, share }];
  });
  if (bars.length === 0) return '';
  const [label, width, height] = [70, 220, 24];
  const parts = bars.map(({ row, share }, i) => {
    const y = i * height;
    const colour = row.limit === undefined ? '#8c959f' : share > 0.9 ? '#cf222e' : share > 0.7 ? '#9a6700' : '#1a7f37';
    const caption = `${(share * 100).toFixed(1)} %${row.limit === undefined ? ' of host' : ''}`;
    return (
      `<text x="0" y="${y + 16}">${esc(row.name)}</text>` +
      `<rect x="${label}" y="${y + 5}" width="${width}" height="14" fill="#eaeef2"/>` +
      `<rect x="${label}" y="${y + 5}" width="${(width * share).toFixed(1)}" height="14" fill="${colour}"/>` +
      `<text x="${label + width + 8}" y="${y + 16}">${esc(caption)}</text>`
    );
  });
  return (
    `<svg class="resources" xmlns="http://www.w3.org/2000/svg" width="${label + width + 110}" height="${bars.length * height + 4}" ` +
    `role="img" aria-label="resource use against the limits" font-family="sans-serif" font-size="12">${parts.join('')}</svg>`
  );
}

function logs(excerpt: LogExcerpt | undefined): string {
  if (!excerpt) return '';
  return (['stdout', 'stderr'] as const)
    .filter((stream) => excerpt[stream] !== undefined)
    .map((stream) => {
      const lines = excerpt[stream]!;
      const body = lines.length
        ? `<pre class="log">${lines.map(esc).join('\n')}</pre>`
        : '<p class="muted">(empty)</p>';
      return `<h3>Last lines of ${stream}</h3>${body}`;
    })
    .join('');
}

function table(headers: string[], rows: string[]): string {
  return `<table><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}
