import pino, { type Logger } from 'pino';
import { maskSecrets } from './secrets.js';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
export const logLevels: LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/**
 * One root logger per run. The journal (the audit trail that goes into the bundle) always gets
 * everything from `info` (debug when asked); stderr gets the log only at debug/trace, because at
 * other levels stderr belongs to the progress display.
 */
export function createRunLogger(options: { journalPath: string; level: LogLevel; base?: Record<string, unknown> }): {
  log: Logger;
  flush: () => void;
} {
  const journalLevel = options.level === 'trace' || options.level === 'debug' ? options.level : 'info';
  const journal = pino.destination({ dest: options.journalPath, sync: true, mode: 0o600 });
  const streams: pino.StreamEntry[] = [{ level: journalLevel, stream: journal }];
  if (options.level === 'debug' || options.level === 'trace') streams.push({ level: options.level, stream: process.stderr });
  const log = pino(
    {
      level: journalLevel,
      base: options.base ?? {},
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { log: (object) => maskSecrets(object) as Record<string, unknown> },
    },
    pino.multistream(streams),
  );
  return { log, flush: () => journal.flushSync() };
}
