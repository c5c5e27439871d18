/**
 * How watch's lines are shown: one human line each on stderr, or with --log-format json one pino
 * NDJSON document each on stdout (schemas/watch-event.v1.json), for log collectors. Debug lines
 * appear only at --log-level debug or trace.
 */
import pino from 'pino';
import type { WatchEvent } from '../engine/watch/request.js';
import { visibleControls } from './terminal.js';

const order = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export function watchLogger(format: 'human' | 'json', level: string): (event: WatchEvent) => void {
  const shown = (eventLevel: string) => order.indexOf(eventLevel) >= order.indexOf(level);
  if (format === 'json') {
    const log = pino(
      {
        level: level === 'silent' ? 'silent' : level,
        base: { schema: 'firebreak.watch-event/v1', pid: process.pid },
        timestamp: pino.stdTimeFunctions.isoTime,
      },
      pino.destination({ fd: 1, sync: true }),
    );
    return ({ level: eventLevel, message, ...fields }) => log[eventLevel](fields, message);
  }
  return (event) => {
    if (!shown(event.level)) return;
    const time = new Date().toISOString().slice(11, 23);
    const mark = event.level === 'error' ? 'error: ' : event.level === 'warn' ? 'warning: ' : '';
    process.stderr.write(`${time} ${mark}${visibleControls(event.message)}\n`);
  };
}
