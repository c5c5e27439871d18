/**
 * The process list (top.json, `ps -ef` as the engine ran it on the host) as rows of user, pid and
 * command. The column titles depend on the ps the host has, so they are looked up by name.
 */

export interface ProcessRow {
  user: string;
  pid: string;
  command: string;
}

export interface ProcessList {
  total: number;
  /** At most `processCap` rows, in the engine's order. */
  rows: ProcessRow[];
}

export const processCap = 100;

export function processList(top: unknown, cap = processCap): ProcessList | undefined {
  const doc = top as { Titles?: unknown; Processes?: unknown } | null;
  if (!doc || !Array.isArray(doc.Titles) || !Array.isArray(doc.Processes)) return undefined;
  const titles = doc.Titles.map((t) => String(t).toUpperCase());
  const column = (...names: string[]) => titles.findIndex((t) => names.includes(t));
  const [user, pid, command] = [column('UID', 'USER'), column('PID'), column('CMD', 'COMMAND', 'ARGS')];
  const cell = (row: unknown[], index: number) => (index === -1 ? '' : String(row[index] ?? ''));
  const rows = doc.Processes.filter(Array.isArray).map((row: unknown[]) => ({
    user: cell(row, user),
    pid: cell(row, pid),
    command: cell(row, command),
  }));
  return { total: rows.length, rows: rows.slice(0, cap) };
}
