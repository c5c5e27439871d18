import type { LoadedPlaybook } from '../engine/playbook.js';

/**
 * A playbook's params, one line each: how to pass it, its type, its default or that it is
 * required, and what it is for. For `run PLAYBOOK --help` and `playbooks show`.
 */
export function paramLines(playbook: Pick<LoadedPlaybook, 'params'>): string[] {
  const entries = Object.entries(playbook.params);
  if (entries.length === 0) return ['(no params)'];
  const rows = entries.map(([name, spec]) => [
    `--param ${name}=VALUE`,
    spec.type,
    spec.default !== undefined ? `default: ${JSON.stringify(spec.default)}` : spec.required ? 'required' : 'optional',
    spec.description ?? '',
  ]);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell))
      .join('  ')
      .trimEnd(),
  );
}
