import { formatDuration } from '../duration.js';
import type { DrillRun } from '../engine/drill/run.js';
import type { DrillReport, DrillSuite } from '../engine/drill/suite.js';
import type { Spread } from '../engine/drill/timing.js';
import { visibleControls } from './terminal.js';

/** The drill report for people: per playbook, each check with expected against observed, then timings. */
export function renderDrillReport(report: DrillReport): string {
  const lines = report.drills.flatMap(renderSuite);
  const counts = (status: string) => report.drills.filter((s) => s.status === status).length;
  const tally = ['succeeded', 'failed', 'aborted']
    .map((status) => [status, counts(status)] as const)
    .filter(([, n]) => n > 0)
    .map(([status, n]) => `${n} ${status}`)
    .join(', ');
  lines.push(`drill ${report.status}: ${tally || 'nothing ran'} (${formatDuration(report.durationMs)})`);
  return `${lines.map((line) => visibleControls(line)).join('\n')}\n`;
}

function renderSuite(suite: DrillSuite): string[] {
  const prepare = suite.prepare ? `, prepared with ${suite.prepare}` : '';
  const lines = [`drill ${suite.playbook} (scenario ${suite.scenario}${prepare}): ${suite.status}`];
  suite.runs.forEach((run, i) => {
    if (suite.runs.length > 1) lines.push(`  run ${i + 1} of ${suite.runs.length}: ${run.status}`);
    lines.push(...renderRun(run));
  });
  if (suite.runs.length > 1) {
    const spread = (name: string, s: Spread | undefined) =>
      s &&
      `  ${name} over ${s.runs} runs: min ${formatDuration(s.min)}, median ${formatDuration(s.median)}, p95 ${formatDuration(s.p95)}, max ${formatDuration(s.max)}`;
    lines.push(
      ...[spread('time to contain', suite.timings.timeToContainMs), spread('total', suite.timings.totalMs)].filter(
        (l): l is string => Boolean(l),
      ),
    );
  }
  return lines;
}

function renderRun(run: DrillRun): string[] {
  const lines: string[] = [];
  if (run.error) lines.push(`    failed     ${run.error}`);
  if (run.run) {
    const why = run.run.error ? `: ${run.run.error}` : '';
    lines.push(`    ${pad(run.run.status)} playbook ran${why}`);
  }
  for (const e of run.expectations) {
    const detail = e.status === 'succeeded' ? e.observed : `expected ${e.expected}, observed ${e.observed}`;
    lines.push(`    ${pad(e.status)} ${e.expectation}: ${detail}`);
  }
  const contain =
    run.timings.timeToContainMs === null ? 'nothing to contain' : formatDuration(run.timings.timeToContainMs);
  lines.push(`    time to contain ${contain}; total ${formatDuration(run.timings.totalMs)}`);
  if (run.bundle) lines.push(`    bundle ${run.bundle.path}`);
  if (run.cleanup.kept) lines.push(`    kept: everything labelled firebreak.drill=${run.drillId}`);
  for (const left of run.cleanup.left) lines.push(`    left behind: ${left}`);
  return lines;
}

function pad(status: string): string {
  return status.padEnd(10);
}
