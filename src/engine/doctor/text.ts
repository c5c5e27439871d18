import type { Check, DoctorReport } from './report.js';

const word: Record<Check['status'], string> = {
  succeeded: 'ok',
  warning: 'warning',
  failed: 'failed',
  skipped: 'skipped',
};

/** One line per check, "ok", "warning" or "failed" first, then the fix on its own line under it. */
export function renderDoctor(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((c) => c.title.length));
  const lines = report.checks.flatMap((check) => {
    const head = `${word[check.status].padEnd(8)} ${check.title.padEnd(width)}  ${check.detail}`;
    return check.fix ? [head, `${' '.repeat(9 + width + 2)}fix: ${check.fix}`] : [head];
  });
  const counts = (['failed', 'warning'] as const)
    .map((status) => [status, report.checks.filter((c) => c.status === status).length] as const)
    .filter(([, n]) => n > 0)
    .map(([status, n]) => `${n} ${status === 'failed' ? 'failed' : n === 1 ? 'warning' : 'warnings'}`);
  lines.push('', counts.length ? `doctor: ${counts.join(', ')}` : 'doctor: everything ok');
  return `${lines.join('\n')}\n`;
}
