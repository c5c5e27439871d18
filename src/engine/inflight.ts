/**
 * State changes under way in this process. Ctrl-C lets them finish, so what they changed is
 * recorded; the command's signal handler asks how many there are before it lets a second
 * Ctrl-C quit at once.
 */
let inflight = 0;

export function stateChangesInFlight(): number {
  return inflight;
}

export async function asStateChange<T>(work: () => Promise<T>): Promise<T> {
  inflight++;
  try {
    return await work();
  } finally {
    inflight--;
  }
}

/** For a state change: aborts on nothing; its own timeout still bounds it. */
export const notInterruptible: AbortSignal = new AbortController().signal;
