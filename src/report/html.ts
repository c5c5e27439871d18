import { htmlText } from './escape.js';
import { evidenceHtml } from './html-evidence.js';
import type { Level } from './findings.js';
import {
  clock,
  duration,
  sizeText,
  spansDays,
  type ChangedFiles,
  type ReportModel,
  type TargetReport,
} from './model.js';

/**
 * The report as one self-contained HTML file: inline CSS, no scripts, no external assets, and a
 * Content-Security-Policy that forbids loading any, so it opens the same offline, from a ticket
 * attachment or from a mail client. Every value from the bundle goes through `esc`.
 */
export function renderHtml(model: ReportModel): string {
  const run = model.run;
  const body = [
    `<header><h1>firebreak ${esc(run.playbook)} ${badge(run.status)}</h1>${run.description ? `<p class="lead">${esc(run.description)}</p>` : ''}</header>`,
    verification(model),
    overview(model),
    summary(model),
    run.error ? `<p class="error"><strong>Run error:</strong> ${esc(run.error)}</p>` : '',
    timeline(model),
    ...model.targets.map(target),
    evidence(model),
    `<footer>Rendered by ${esc(run.tool)} from run ${esc(run.runId)}. Secret-looking environment values, URL passwords and password= inside values are masked; the bundle's inspect.json keeps them.</footer>`,
  ];
  return htmlPage(`${model.title} (${run.incident})`, body);
}

/** A whole page: inline CSS, and a CSP that lets it load nothing. `title` is escaped here; `body` is HTML. */
export function htmlPage(title: string, body: readonly string[]): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    `<body><main>${body.filter(Boolean).join('\n')}</main></body>`,
    '</html>',
    '',
  ].join('\n');
}

function summary(model: ReportModel): string {
  const run = model.run;
  const rows: Array<[string, string]> = [
    ['incident', esc(run.incident)],
    ['containers', model.targets.map((t) => `${esc(t.name)} ${badge(t.status)}`).join(' ') || 'none'],
    ['operator', esc(run.operator)],
    ['started', esc(run.startedAt)],
    ['ended', `${esc(run.endedAt)} (${esc(duration(run.durationMs))})`],
    ['playbook', `${esc(run.playbook)} <span class="muted">${esc(run.source)}</span>`],
    ['params', `<code>${esc(JSON.stringify(run.params))}</code>`],
    ['engine', esc(run.engine)],
  ];
  return `<dl class="summary">${rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>`;
}

/** Evidence that does not verify must not read as a clean record: said first, in red. */
function verification(model: ReportModel): string {
  const check = model.verification;
  if (!check) return '';
  if (check.ok)
    return `<p class="verified">Bundle <code>${esc(model.bundle ?? '')}</code> verified: every file matches its manifest.</p>`;
  const problems = check.problems.map((p) => `<li>${esc(p)}</li>`).join('');
  return (
    `<div class="banner" role="alert"><strong>This bundle failed verification.</strong> Its contents may have been changed ` +
    `or damaged since it was written; do not rely on what follows. <code>firebreak bundle verify</code> found:<ul>${problems}</ul></div>`
  );
}

/** What was done, the state it left, and what is left to do with the exact undo commands. */
function overview(model: ReportModel): string {
  const { done, state, todo, undo, incidentCommand } = model.summary;
  const list = (items: string[]) => `<ul>${items.join('')}</ul>`;
  const left = [
    ...undo.map(
      (u) => `<li>${esc(u.container)} is ${esc(u.what)}; to undo: <code class="command">${esc(u.command)}</code></li>`,
    ),
    ...todo.map((t) => `<li>look at ${esc(t)}</li>`),
  ];
  return section(
    'Summary',
    '<h3>Done</h3>',
    list(done.map((d) => `<li>${esc(d)}</li>`)),
    '<h3>State at the end of the run</h3>',
    list(state.map((d) => `<li>${esc(d)}</li>`)),
    '<h3>Left to do</h3>',
    left.length ? list(left) : '<p>Nothing: no change of this run is still in place.</p>',
    `<p class="muted">Every run of incident ${esc(model.run.incident)}, and what they left to undo: <code>${esc(incidentCommand)}</code></p>`,
  );
}

function timeline(model: ReportModel): string {
  if (model.timeline.length === 0) return '<section><h2>Timeline</h2><p>No step ran.</p></section>';
  const withDate = spansDays(model);
  const rows = model.timeline.map(
    (r) =>
      `<tr class="${r.status}"><td class="time">${esc(clock(r.at, withDate))}</td><td>${esc(r.container)}</td><td>${esc(r.step)}</td>` +
      `<td><code>${esc(r.uses)}</code></td><td>${badge(r.status, r.result)}</td><td class="num">${esc(duration(r.durationMs))}</td><td>${esc(r.detail)}</td></tr>`,
  );
  const note = `Times are UTC${withDate ? '' : `, on ${esc(model.run.startedAt.slice(0, 10))}`}; every step was run by ${esc(model.run.operator)}.`;
  return section(
    'Timeline',
    `<p class="muted">${note}</p>`,
    table(['time', 'container', 'step', 'action', 'result', 'took', 'detail'], rows),
  );
}

function target(t: TargetReport): string {
  const head = `<h2>${esc(t.name)} <span class="muted">${esc(t.id.slice(0, 12))}</span> ${badge(t.status)}</h2>${evidenceHtml(t)}${t.files ? files(t.files) : ''}`;
  if (!t.inspected) {
    return `<section>${head}<p class="muted">No inspect document for this container in the bundle, so no hardening findings.</p></section>`;
  }
  const findings = t.findings.map(
    (f) =>
      `<tr class="finding ${f.level}"><td>${esc(f.check)}</td><td><code>${esc(f.value)}</code></td><td>${level(f.level)}</td><td class="why">${esc(f.why)}</td></tr>`,
  );
  const counts = `<span class="counts">${level('risk')} ${esc(String(t.summary.risk))} ${level('warn')} ${esc(String(t.summary.warn))} ${level('ok')} ${esc(String(t.summary.ok))}</span>`;
  const parts = [head, `<h3>Hardening ${counts}</h3>`, table(['check', 'value', '', 'why it matters'], findings)];
  if (t.env.length > 0) {
    const env = t.env.map(
      (e) =>
        `<tr><td><code>${esc(e.name)}</code></td><td><code${e.masked ? ' class="masked"' : ''}>${esc(e.value)}</code></td></tr>`,
    );
    parts.push('<h3>Environment</h3>', table(['name', 'value'], env, 'env'));
  }
  return `<section>${parts.join('\n')}</section>`;
}

function files(f: ChangedFiles): string {
  const left =
    f.leftOut > 0
      ? ` <span class="badge failed">${esc(String(f.leftOut))} left out</span> over the size cap; files.json lists each with its size, and only a filesystem export has them.`
      : '';
  return `<p><strong>Changed files:</strong> ${esc(f.summary)}.${left}</p>`;
}

function evidence(model: ReportModel): string {
  if (model.evidence.length === 0) return '';
  const rows = model.evidence.map(
    (e) =>
      `<tr><td><a href="${esc(bagLink(e.path))}"><code>${esc(e.path)}</code></a>${e.incomplete ? ` <span class="badge failed">incomplete</span> ${esc(e.incomplete)}` : ''}</td>` +
      `<td class="num">${esc(sizeText(e.size))}</td><td class="hash">${esc(e.sha256)}</td></tr>`,
  );
  const note =
    '<p class="muted">The links open each file from the extracted bag, with this page saved in the bag&#39;s folder (<code>firebreak bundle extract</code>, or <code>tar -xf</code>). ' +
    'run.json, report.md and the tag files are hashed by the bag&#39;s manifests; check the whole bundle with <code>firebreak bundle verify</code>.</p>';
  return section('Evidence', table(['file', 'size', 'sha256'], rows), note);
}

/** A path inside the bag as a relative URL: each segment encoded, so no name can make it absolute or leave the bag. */
function bagLink(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

export function section(title: string, ...parts: string[]): string {
  return `<section><h2>${esc(title)}</h2>${parts.join('\n')}</section>`;
}

export function table(headers: string[], rows: string[], kind = ''): string {
  return `<table${kind ? ` class="${kind}"` : ''}><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

export function badge(status: string, text = status): string {
  return `<span class="badge ${esc(status)}">${esc(text)}</span>`;
}

function level(value: Level): string {
  return `<span class="level ${esc(value)}">${esc(value)}</span>`;
}

/** Every value goes through here: see escape.ts. */
export function esc(text: string): string {
  return htmlText(text);
}

const CSS = `
:root{--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--bg:#fff;--head:#f6f8fa;--ok:#1a7f37;--warn:#9a6700;--risk:#cf222e}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.5 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif}
main{max-width:1100px;margin:0 auto;padding:24px 32px 48px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 8px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:15px;margin:18px 0 6px}.lead{margin:0 0 16px;color:var(--muted)}.muted{color:var(--muted);font-weight:normal}
code,.hash,.time{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
code{background:var(--head);padding:1px 4px;border-radius:4px;word-break:break-word}
.summary{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:16px 0;padding:12px 16px;background:var(--head);border:1px solid var(--line);border-radius:6px}
.summary dt{color:var(--muted)}.summary dd{margin:0}.summary code{background:none;padding:0}
table{border-collapse:collapse;width:100%;margin:6px 0 12px}
th,td{border:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
th{background:var(--head);font-weight:600}tbody tr:nth-child(even){background:#fbfcfd}
td.num{text-align:right;white-space:nowrap}td.time{white-space:nowrap}td.hash{word-break:break-all;width:36%}td.why{color:var(--muted)}table.env td:first-child{width:32%}
.badge,.level{display:inline-block;padding:0 7px;border-radius:10px;font-size:12px;font-weight:600;vertical-align:middle;border:1px solid currentColor}
.badge.succeeded,.level.ok{color:var(--ok)}.badge.failed,.badge.aborted,.level.risk{color:var(--risk)}.badge.skipped,.level.warn{color:var(--warn)}
tr.finding.risk td:first-child{border-left:4px solid var(--risk)}tr.finding.warn td:first-child{border-left:4px solid var(--warn)}tr.finding.ok td:first-child{border-left:4px solid var(--ok)}
.level.risk{background:#ffebe9}.level.warn{background:#fff8c5}.level.ok{background:#dafbe1}
.counts{margin-left:8px;font-weight:normal}.counts .level{margin-left:10px}
code.masked{color:var(--muted)}.error{padding:8px 12px;border:1px solid var(--risk);border-radius:6px;background:#ffebe9}
tbody tr.failed td,tbody tr.aborted td{background:#fff5f5}
.banner{margin:16px 0;padding:10px 14px;border:2px solid var(--risk);border-radius:6px;background:#ffebe9}.banner ul{margin:6px 0 0}
.verified{color:var(--ok)}code.command{background:#fff8c5;padding:2px 6px}pre.log{background:var(--head);border:1px solid var(--line);border-radius:6px;padding:8px 10px;overflow-x:auto;font-size:12px;white-space:pre-wrap;word-break:break-all}
tr.sensitive td:first-child{border-left:4px solid var(--risk)}.change.added{color:var(--risk);font-weight:600}.change.deleted{color:var(--warn);font-weight:600}svg.resources{display:block;margin:6px 0}
footer{margin-top:32px;color:var(--muted);font-size:12px}
@media print{main{max-width:none;padding:0}h2{break-after:avoid}tr{break-inside:avoid}}
`;
