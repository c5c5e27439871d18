import type { DrillRun } from './run.js';
import type { DrillReport, DrillSuite } from './suite.js';

/**
 * The drill report as JUnit XML, the format CI test reporters read (Jenkins, GitLab, GitHub
 * actions' reporters): a testsuite per playbook, a testcase "playbook ran" plus one per
 * expectation for every run, times in seconds, failures saying expected and observed.
 */
export function renderJunit(report: DrillReport): string {
  const suites = report.drills.map(renderSuite);
  const tests = suites.reduce((n, s) => n + s.tests, 0);
  const failures = suites.reduce((n, s) => n + s.failures, 0);
  const skipped = suites.reduce((n, s) => n + s.skipped, 0);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="firebreak drill" tests="${tests}" failures="${failures}" errors="0" skipped="${skipped}" time="${seconds(report.durationMs)}" timestamp="${attr(report.startedAt)}">`,
    ...suites.map((s) => s.xml),
    '</testsuites>',
    '',
  ].join('\n');
}

interface Case {
  name: string;
  ms: number;
  failure?: { message: string; body: string };
  skipped?: string;
}

function renderSuite(suite: DrillSuite): { xml: string; tests: number; failures: number; skipped: number } {
  const many = suite.runs.length > 1;
  const cases = suite.runs.flatMap((run, i) =>
    casesOf(run, suite).map((c) => (many ? { ...c, name: `${c.name} (run ${i + 1} of ${suite.runs.length})` } : c)),
  );
  const failures = cases.filter((c) => c.failure).length;
  const skipped = cases.filter((c) => c.skipped !== undefined).length;
  const time = suite.runs.reduce((n, r) => n + r.timings.totalMs, 0);
  const classname = `firebreak.drill.${suite.playbook}`;
  const properties = [
    ['scenario', suite.scenario],
    ...(suite.prepare ? [['prepare', suite.prepare]] : []),
    ...suite.runs.map((r, i) => [`run.${i + 1}.bundle`, r.bundle?.path ?? '']),
  ];
  const xml = [
    `  <testsuite name="${attr(suite.playbook)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${seconds(time)}">`,
    '    <properties>',
    ...properties.map(([name, value]) => `      <property name="${attr(name!)}" value="${attr(value!)}"/>`),
    '    </properties>',
    ...cases.map((c) => renderCase(c, classname)),
    '  </testsuite>',
  ].join('\n');
  return { xml, tests: cases.length, failures, skipped };
}

function casesOf(run: DrillRun, suite: DrillSuite): Case[] {
  const ran: Case = { name: 'playbook ran', ms: run.timings.playbookMs ?? run.timings.totalMs };
  if (run.run?.status !== 'succeeded') {
    const observed = run.run
      ? `${run.run.status}${run.run.error ? `: ${run.run.error}` : ''}`
      : `not run: ${run.error ?? run.status}`;
    ran.failure = { message: `expected the playbook to succeed, observed ${observed}`, body: run.error ?? '' };
  }
  if (run.expectations.length === 0) {
    const why = run.status === 'aborted' ? 'the drill was interrupted' : 'the playbook did not run to the end';
    return [ran, ...suite.expect.map((name) => ({ name, ms: 0, skipped: `not checked: ${why}` }))];
  }
  return [
    ran,
    ...run.expectations.map((e): Case => ({
      name: e.expectation,
      ms: e.durationMs,
      ...(e.status === 'succeeded'
        ? {}
        : {
            failure: {
              message: `expected ${e.expected}, observed ${e.observed}`,
              body: `expected: ${e.expected}\nobserved: ${e.observed}`,
            },
          }),
    })),
  ];
}

function renderCase(c: Case, classname: string): string {
  const open = `    <testcase name="${attr(c.name)}" classname="${attr(classname)}" time="${seconds(c.ms)}"`;
  if (c.failure) {
    return `${open}>\n      <failure message="${attr(c.failure.message)}" type="expectation">${text(c.failure.body)}</failure>\n    </testcase>`;
  }
  if (c.skipped !== undefined) return `${open}>\n      <skipped message="${attr(c.skipped)}"/>\n    </testcase>`;
  return `${open}/>`;
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

/** XML 1.0 has no escape for most control characters: they are dropped, the rest escaped. */
function text(value: string): string {
  return value
    .replace(/[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

function attr(value: string): string {
  return text(value).replace(/"/g, '&quot;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}
