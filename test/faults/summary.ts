// The fault suite's figures, read from the ledger by the global teardown (no vitest here: it runs
// in the main process).

export interface Trial {
  fault: string;
  held: boolean;
  detail?: string;
}

/** "fault interrupt: tried 20, held 20, lost 0", one line per class, in a stable order. */
export function summaryLines(entries: readonly Trial[]): string[] {
  const classes = new Map<string, { tried: number; held: number; lost: string[] }>();
  for (const e of entries) {
    const c = classes.get(e.fault) ?? { tried: 0, held: 0, lost: [] };
    c.tried++;
    if (e.held) c.held++;
    else c.lost.push(e.detail ?? '');
    classes.set(e.fault, c);
  }
  return [...classes.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .flatMap(([fault, c]) => [
      `fault ${fault}: tried ${c.tried}, held ${c.held}, lost ${c.tried - c.held}`,
      ...c.lost.map((d) => `  lost: ${d}`),
    ]);
}
