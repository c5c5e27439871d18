/** `incident show --format html`: the same view as the Markdown, as one self-contained page. */
import { htmlText as esc } from './escape.js';
import { badge, htmlPage, section, table } from './html.js';
import type { IncidentView } from './incident.js';
import { duration } from './model.js';

export function renderIncidentHtml(view: IncidentView): string {
  const broken = view.runs.filter((r) => !r.verified);
  const banner = broken.length
    ? `<div class="banner" role="alert"><strong>${broken.length} of ${view.runs.length} bundles failed verification</strong>; do not rely on what they say.<ul>${broken
        .map((r) => `<li><code>${esc(r.bundle)}</code>: ${esc(r.problems.join('; '))}</li>`)
        .join('')}</ul></div>`
    : '';
  const undo = view.undo.length
    ? `<ul>${view.undo
        .map(
          (u) =>
            `<li>${esc(u.container)} is ${esc(u.what)} (since ${esc(u.at ?? '?')}); to undo: <code class="command">${esc(u.command)}</code></li>`,
        )
        .join('')}</ul>`
    : '<p>Nothing: every change recorded in this incident has been undone.</p>';
  const unreachable = view.engine.reachable
    ? ''
    : `<p class="error">The engine ${esc(view.engine.endpoint)} could not be asked: ${esc(view.engine.error ?? '')}</p>`;
  const containers = view.containers.map(
    (c) => `<tr><td>${esc(c.name)}</td><td><code>${esc(c.id.slice(0, 12))}</code></td><td>${esc(c.detail)}</td></tr>`,
  );
  const runs = view.runs.map(
    (r) =>
      `<tr><td class="time">${esc(r.startedAt ?? '?')}</td><td>${esc(r.playbook ?? '?')}</td><td>${esc(r.containers.join(', '))}</td>` +
      `<td>${badge(r.status ?? 'failed', r.status ?? 'unreadable')}</td><td>${esc(r.operator ?? '')}</td>` +
      `<td>${r.verified ? badge('succeeded', 'verified') : badge('failed', 'NOT verified')}</td><td><code>${esc(r.bundle)}</code></td></tr>`,
  );
  const steps = view.timeline.map(
    (row) =>
      `<tr class="${esc(row.status)}"><td class="time">${esc(row.at ? `${row.at.slice(0, 10)} ${row.at.slice(11, 23)}` : '')}</td><td>${esc(row.playbook)}</td>` +
      `<td>${esc(row.container)}</td><td>${esc(row.step)}</td><td><code>${esc(row.uses)}</code></td><td>${badge(row.status, row.result)}</td>` +
      `<td class="num">${esc(duration(row.durationMs))}</td><td>${esc(row.detail)}</td></tr>`,
  );
  return htmlPage(`Incident ${view.incident}`, [
    `<header><h1>Incident ${esc(view.incident)} ${badge(view.status, view.status === 'succeeded' ? 'all bundles verified' : 'verification failed')}</h1>` +
      `<p class="lead">${view.runs.length} runs found; folders searched: ${esc(view.folders.join(', '))}</p></header>`,
    banner,
    section('Left to undo', undo),
    section('Containers now', unreachable, table(['container', 'id', 'state now'], containers)),
    section('Runs', table(['started', 'playbook', 'containers', 'status', 'operator', 'verified', 'bundle'], runs)),
    section(
      'Timeline',
      '<p class="muted">Times are UTC.</p>',
      table(['time', 'playbook', 'container', 'step', 'action', 'result', 'took', 'detail'], steps),
    ),
  ]);
}
