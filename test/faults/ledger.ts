// The fault-injection suite's ledger: every injected fault is a trial of one fault class, and it
// either held (every guarantee checked afterwards was true) or was lost (one was not). Trials are
// appended as JSON lines to a file shared by the test workers; the global teardown prints one
// summary line per class (see test/setup/global.ts), so CI output carries the figures.
import { appendFileSync } from 'node:fs';
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    faultLedger: string;
  }
}

/** Provided by the global setup to every worker. */
export function ledgerPath(): string {
  return inject('faultLedger');
}

import type { Trial } from './summary.js';

/**
 * Runs one trial of `fault`: `check` injects it and asserts every guarantee. A failed assertion
 * is recorded as lost and fails the test too; the ledger never counts a trial it did not finish.
 */
export async function trial(fault: string, detail: string, check: () => Promise<void>): Promise<void> {
  try {
    await check();
  } catch (error) {
    record({ fault, held: false, detail: `${detail}: ${(error as Error).message.split('\n')[0]}` });
    throw error;
  }
  record({ fault, held: true, detail });
}

function record(entry: Trial): void {
  appendFileSync(ledgerPath(), `${JSON.stringify(entry)}\n`);
}
