/**
 * The per-container circuit breaker: at most `max` recoveries of one container per window. Past
 * that the breaker opens, watch escalates once, and leaves the container alone until a window has
 * passed since the opening. A healer that restarts a broken container forever hides the failure
 * and burns the evidence of each crash; one that forgets its count when it restarts (StackStorm,
 * st2 #3630) does the same more slowly. So the state lives in the evidence folder, one small file
 * per engine and container (keyed by the engine's ID and the container's full id, never by a
 * name), written whole (temporary file, then rename) before each recovery starts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface BreakerState {
  engine: string;
  container: string;
  name: string;
  /** When each recovery in the current window started (ISO). */
  recoveries: string[];
  /** Set while open: when watch looks at the container again (ISO). */
  openUntil?: string;
}

export type BreakerVerdict =
  | { open: false; recent: number }
  | { open: true; until: Date; recent: number; /** Opened by this check: escalate now. */ opened: boolean };

export class Breakers {
  constructor(
    private readonly evidenceDir: string,
    private readonly engineId: string,
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  /** Whether one more recovery of the container is allowed now; opens the breaker when it is not. */
  async check(container: { id: string; name: string }, now = new Date()): Promise<BreakerVerdict> {
    const state = await this.load(container);
    if (state.openUntil) {
      const until = new Date(state.openUntil);
      if (now < until) return { open: true, until, recent: state.recoveries.length, opened: false };
      // The window has passed since the opening: a fresh start, counted from now.
      state.openUntil = undefined;
      state.recoveries = [];
    }
    state.recoveries = state.recoveries.filter((at) => now.getTime() - Date.parse(at) < this.windowMs);
    if (state.recoveries.length >= this.max) {
      const until = new Date(now.getTime() + this.windowMs);
      state.openUntil = until.toISOString();
      await this.save(state);
      return { open: true, until, recent: state.recoveries.length, opened: true };
    }
    await this.save(state);
    return { open: false, recent: state.recoveries.length };
  }

  /** Counts a recovery that starts now. */
  async record(container: { id: string; name: string }, now = new Date()): Promise<void> {
    const state = await this.load(container);
    state.recoveries.push(now.toISOString());
    state.name = container.name;
    await this.save(state);
  }

  private path(containerId: string): string {
    const key = createHash('sha256').update(`${this.engineId}\n${containerId}`).digest('hex').slice(0, 32);
    return join(this.evidenceDir, 'breakers', `${key}.json`);
  }

  private async load(container: { id: string; name: string }): Promise<BreakerState> {
    const fresh: BreakerState = {
      engine: this.engineId,
      container: container.id,
      name: container.name,
      recoveries: [],
    };
    try {
      const state = JSON.parse(await readFile(this.path(container.id), 'utf8')) as Partial<BreakerState>;
      // A file of another engine or container under this name would be a hash collision or a hand edit: not ours.
      if (state.engine !== this.engineId || state.container !== container.id) return fresh;
      return {
        ...fresh,
        recoveries: Array.isArray(state.recoveries)
          ? state.recoveries.filter((at) => typeof at === 'string' && !Number.isNaN(Date.parse(at)))
          : [],
        ...(typeof state.openUntil === 'string' && !Number.isNaN(Date.parse(state.openUntil))
          ? { openUntil: state.openUntil }
          : {}),
      };
    } catch {
      // Missing, or unreadable (a torn hand edit): no recoveries known.
      return fresh;
    }
  }

  private async save(state: BreakerState): Promise<void> {
    const path = this.path(state.container);
    // One level under the evidence folder, which watch prepared at start (never a recursive mkdir: see folder.ts).
    await mkdir(join(this.evidenceDir, 'breakers'), { mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
    const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    await rename(temporary, path);
  }
}
