import { createInterface } from 'node:readline/promises';

/** Prompts only ever appear on a terminal: scripted and scheduled runs never hang on a question. */
export function canPrompt(): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY);
}

/**
 * Asks yes or no. Anything but yes declines, and so do Ctrl-C at the prompt (which readline reads
 * as a key, not a signal) and a SIGINT or SIGTERM from elsewhere (`signal`): the operator said no.
 */
export async function confirm(question: string, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const interrupted = new AbortController();
  rl.on('SIGINT', () => interrupted.abort());
  const onAbort = () => interrupted.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const answer = await rl.question(`${question} [y/N] `, { signal: interrupted.signal });
    return /^y(es)?$/i.test(answer.trim());
  } catch (error) {
    if (interrupted.signal.aborted) {
      process.stderr.write('\n');
      return false;
    }
    throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    rl.close();
  }
}
