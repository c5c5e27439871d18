import { formatDuration } from '../duration.js';
import type { ContainerRecovery, HealthView, RecoverOutcome } from '../engine/recover.js';

/** recover's summary for people: one line per container, then the count. */
export function renderRecovery(outcome: RecoverOutcome): string {
  const lines = outcome.containers.map(line);
  if (outcome.containers.length === 0)
    lines.push(
      outcome.mode === 'unhealthy' ? 'no unhealthy container: nothing to recover' : 'no container: nothing to recover',
    );
  const count = (status: string) => outcome.containers.filter((c) => c.status === status).length;
  const parts = [
    [count('succeeded'), outcome.action === 'stop' ? 'stopped' : 'recovered'],
    [count('failed'), 'failed'],
    [count('warning'), 'left unhealthy (--action none)'],
    [count('skipped'), 'skipped'],
    [count('aborted'), 'interrupted'],
  ] as const;
  const summary = parts.filter(([n]) => n > 0).map(([n, word]) => `${n} ${word}`);
  if (summary.length) lines.push(`recover: ${summary.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

function line(c: ContainerRecovery): string {
  if (c.status === 'skipped') return `${c.name}: skipped: ${c.reason}`;
  const change = c.after ? `${describe(c.before)} -> ${describe(c.after)}` : describe(c.before);
  const attempts = c.attempts !== undefined ? `; ${c.attempts} attempt${c.attempts === 1 ? '' : 's'}` : '';
  const delays = c.delaysMs?.length ? ` (waits ${c.delaysMs.map(formatDuration).join(', ')})` : '';
  const why = c.status === 'failed' && c.error ? `\n  ${c.error}` : c.reason ? `; ${c.reason}` : '';
  const bundle = c.bundle ? `\n  bundle: ${c.bundle}` : '';
  const word = c.status === 'warning' ? 'not recovered' : c.status;
  return `${c.name}: ${word} (${change}${attempts}${delays})${why}${bundle}`;
}

function describe(v: HealthView): string {
  return v.health === 'none' ? `${v.state}, no healthcheck` : `${v.state}, ${v.health}`;
}
