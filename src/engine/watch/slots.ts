/**
 * Never two runs on one container at once, and at most `max` runs at once in all. A container
 * already queued or running is not queued again: the run it is waiting for will look at it.
 */
export class Slots {
  private readonly queue: Array<{ id: string; job: () => Promise<void> }> = [];
  private readonly running = new Map<string, Promise<void>>();

  constructor(private readonly max: number) {}

  busy(id: string): boolean {
    return this.running.has(id) || this.queue.some((entry) => entry.id === id);
  }

  get inFlight(): number {
    return this.running.size;
  }

  /** Queues the job unless the container is busy; false when it was. */
  submit(id: string, job: () => Promise<void>): boolean {
    if (this.busy(id)) return false;
    this.queue.push({ id, job });
    this.pump();
    return true;
  }

  /** Drops what has not started (on stop); returns the containers dropped. */
  dropQueued(): string[] {
    return this.queue.splice(0).map((entry) => entry.id);
  }

  /** Resolves once every running job has ended. */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  private pump(): void {
    while (this.running.size < this.max && this.queue.length > 0) {
      const { id, job } = this.queue.shift()!;
      const done = job()
        .catch(() => undefined)
        .finally(() => {
          this.running.delete(id);
          this.pump();
        });
      this.running.set(id, done);
    }
  }
}
