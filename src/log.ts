import { createWriteStream, type WriteStream } from 'node:fs';
import pino, { type Logger } from 'pino';
import { maskSecrets } from './secrets.js';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
export const logLevels: LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** A journal far bigger than any run writes; past it, lines are counted, not kept. */
const journalMemoryBytes = 32 * 1024 * 1024;

/**
 * The run's journal (the audit trail that goes into the bundle). It is kept in memory, so the
 * bundle gets it whole without reading the disk back, and it is copied, without waiting, to a
 * file beside the bundle, which is what survives a hard exit. A write to that file never blocks
 * the run, and a disk that refuses it (full, gone) only ends the copy.
 */
export class Journal {
  private readonly lines: string[] = [];
  private bytes = 0;
  private dropped = 0;
  private file: WriteStream | undefined;
  /** Why the file copy stopped, if it did. */
  fileProblem: string | undefined;

  constructor(readonly path?: string) {
    if (!path) return;
    this.file = createWriteStream(path, { flags: 'wx', mode: 0o600 });
    this.file.on('error', (error) => {
      this.fileProblem = error.message;
      this.file?.destroy();
      this.file = undefined;
    });
  }

  write(raw: string): void {
    const line = escapeRawControls(raw);
    if (this.bytes + line.length <= journalMemoryBytes) {
      this.lines.push(line);
      this.bytes += line.length;
    } else {
      this.dropped++;
    }
    this.file?.write(line);
  }

  /** Everything written, with a last line saying how many lines the memory cap left out. */
  text(): string {
    const note = this.dropped
      ? `${JSON.stringify({ level: 40, msg: `journal cap reached: ${this.dropped} later lines not kept` })}\n`
      : '';
    return this.lines.join('') + note;
  }

  /** Ends the file copy (its writes done or failed). */
  close(): Promise<void> {
    const file = this.file;
    this.file = undefined;
    if (!file) return Promise.resolve();
    return new Promise((resolve) => file.end(() => resolve()));
  }
}

/**
 * One root logger per run. The journal always gets everything from `info` (debug when asked);
 * stderr gets the log only at debug/trace, because at other levels stderr belongs to the progress display.
 */
export function createRunLogger(options: {
  journal: Journal;
  level: LogLevel;
  base?: Record<string, unknown>;
}): Logger {
  const journalLevel = options.level === 'trace' || options.level === 'debug' ? options.level : 'info';
  const streams: pino.StreamEntry[] = [{ level: journalLevel, stream: options.journal }];
  if (options.level === 'debug' || options.level === 'trace') {
    streams.push({
      level: options.level,
      stream: { write: (line: string) => process.stderr.write(escapeRawControls(line)) },
    });
  }
  return pino(
    {
      level: journalLevel,
      base: options.base ?? {},
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { log: (object) => maskSecrets(object) as Record<string, unknown> },
    },
    pino.multistream(streams),
  );
}

/**
 * pino's JSON escapes C0 controls but writes DEL and the C1 controls (U+0080-U+009F, among them
 * the one-character CSI U+009B) raw, and log lines carry what containers control (engine
 * messages, names, webhook answers). As JSON escapes they keep the line valid JSON with the same
 * value, and neither a terminal showing --log-level debug nor `cat journal.ndjson` obeys them.
 */
export function escapeRawControls(line: string): string {
  return line.replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
