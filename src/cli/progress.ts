import type { Progress } from '../engine/progress.js';
import { silentProgress } from '../engine/progress.js';
import type { StepRecord, TargetRecord } from '../evidence/record.js';
import { formatBytes } from '../bytes.js';
import { durationMs, formatDuration } from '../duration.js';
import { visibleControls } from './terminal.js';

export type ProgressMode = 'tty' | 'lines' | 'silent';

/** The terminal chooses the renderer, not the task: spinners on a TTY, one line per event elsewhere. */
export function progressModeFor(json: boolean, stream: NodeJS.WriteStream = process.stderr): ProgressMode {
  if (json) return 'silent';
  return stream.isTTY && process.env.TERM !== 'dumb' && !process.env.CI ? 'tty' : 'lines';
}

export function createProgress(mode: ProgressMode): Progress {
  if (mode === 'silent') return silentProgress;
  return {
    async runTargets(targets, concurrency, work) {
      // Loaded only when progress is shown: --json runs never pay for it.
      const { Listr, ListrLogger, ProcessOutput, PRESET_TIMER, DefaultRenderer, SimpleRenderer } =
        await import('listr2');
      // Progress is stderr's; stdout carries only the result.
      const logger = new ListrLogger({ processOutput: new ProcessOutput(process.stderr, process.stderr) });
      const results: TargetRecord[] = new Array(targets.length);
      const list = new Listr(
        targets.map((target, index) => ({
          title: target.name,
          task: async (_: unknown, task: { title: string; output: string }) => {
            // Concurrent targets interleave in a log: every line names its container there.
            const prefix = mode === 'tty' ? '' : `${target.name}: `;
            const transfer = new TransferMeter(mode === 'tty' ? TTY_EVERY_MS : linesEveryMs());
            const record = await work(target, {
              // On a terminal the line shows what runs now; in a log only results and retries are worth a line.
              stepStarted: (step, attempt) => {
                transfer.start(`${step.id} (${step.uses})`);
                if (mode === 'tty' || attempt > 1) {
                  task.output = `${prefix}${step.id} (${step.uses})${attempt > 1 ? `, attempt ${attempt}` : ''}`;
                }
              },
              stepFinished: (step) => {
                if (step.status !== 'skipped') task.output = `${prefix}${describeStep(step)}`;
              },
              bytes: (count) => {
                const line = transfer.add(count);
                if (line) task.output = `${prefix}${line}`;
              },
            });
            results[index] = record;
            task.title = `${target.name}: ${record.status}`;
            if (record.status !== 'succeeded') throw new Error(`${target.name}: ${firstProblem(record)}`);
          },
        })),
        {
          concurrent: concurrency,
          exitOnError: false,
          registerSignalListeners: false,
          // The mode was decided once, by stderr (where progress goes). listr2 would decide again by
          // stdout, so `firebreak isolate a b | tee out` got spinners without container names;
          // a renderer that declares itself fit for any stdout keeps listr2 to our choice.
          renderer: mode === 'tty' ? stderrRenderer(DefaultRenderer) : SimpleRenderer,
          fallbackRenderer: SimpleRenderer,
          fallbackRendererCondition: false,
          rendererOptions: { logger, timer: PRESET_TIMER, collapseSubtasks: false, outputBar: 1 } as object,
          fallbackRendererOptions: { logger, timer: PRESET_TIMER } as object,
        },
      );
      await list.run();
      return results;
    },
  };
}

// listr2 redraws about every 100 ms; more often than this only costs CPU on a large export.
const TTY_EVERY_MS = 250;

/** In a log, a line every few seconds; FIREBREAK_PROGRESS_EVERY (a duration such as 1s) changes it. */
function linesEveryMs(): number {
  const every = durationMs(process.env.FIREBREAK_PROGRESS_EVERY ?? '');
  return every ?? 5000;
}

/** Bytes so far, rate and elapsed time of the step now streaming; a line at most every `everyMs`. */
export class TransferMeter {
  private label = '';
  private started = Date.now();
  private bytes = 0;
  private shown = 0;

  constructor(
    private readonly everyMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  start(label: string): void {
    this.label = label;
    this.started = this.now();
    this.shown = this.started;
    this.bytes = 0;
  }

  /** The line to show, or undefined while the last one is recent enough. */
  add(count: number): string | undefined {
    this.bytes += count;
    const now = this.now();
    if (now - this.shown < this.everyMs) return undefined;
    this.shown = now;
    const elapsed = Math.max(now - this.started, 1);
    const rate = formatBytes(Math.round((this.bytes * 1000) / elapsed));
    return `${this.label}: ${formatBytes(this.bytes)} so far, ${rate}/s, ${formatDuration(elapsed)}`;
  }
}

// Notes and errors carry engine messages and webhook answers: never raw control characters on a terminal.
function describeStep(step: StepRecord): string {
  const already = step.status === 'succeeded' && step.changed === false ? ' (no change)' : '';
  const detail = step.error ?? step.note;
  return visibleControls(`${step.id} ${step.status}${already}${detail ? `: ${detail}` : ''}`);
}

function firstProblem(record: TargetRecord): string {
  const failed = [...record.steps, ...(record.onFailure ?? [])].find(
    (s) => s.status === 'failed' || s.status === 'aborted',
  );
  return visibleControls(failed ? `${failed.id}: ${failed.error ?? failed.status}` : record.status);
}

/** listr2 checks `nonTTY` against stdout; ours draws on stderr, whose terminal was already checked. */
function stderrRenderer<T extends { nonTTY: boolean }>(renderer: T): T {
  return class extends (renderer as unknown as new (...args: never[]) => object) {
    static nonTTY = true;
  } as unknown as T;
}
