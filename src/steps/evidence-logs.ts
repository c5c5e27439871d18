import { PassThrough } from 'node:stream';
import { z } from 'zod';
import { demultiplex } from '../docker/demux.js';
import { formatBytes } from './evidence.js';
import { defineStep } from './types.js';

/**
 * A point in time as the docker CLI takes it for --since/--until: an RFC 3339 date, seconds
 * since the epoch, or a duration back from now (90s, 10m, 2h, 7d). Empty means unbounded, so a
 * playbook parameter without a value can be passed straight through.
 */
const moment = z.preprocess(
  (value) => (value === '' || value === null ? undefined : value),
  z
    .union([z.string(), z.number()])
    .optional()
    .refine((value) => value === undefined || isMoment(value), {
      message: 'not a time: write an RFC 3339 date, Unix seconds, or a duration back from now such as 10m',
    }),
);

const tail = z.preprocess(
  (value) => (value === '' || value === undefined || value === null ? 'all' : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value),
  z.union([z.literal('all'), z.number().int().nonnegative()], { error: 'a number of lines, or all' }),
);

function isMoment(value: string | number): boolean {
  return typeof value === 'number' || /^\d+(\.\d+)?(s|m|h|d)?$/.test(value.trim()) || !Number.isNaN(Date.parse(value));
}

const agoUnits: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Resolved when the step runs: "10m" means the ten minutes before this collection. */
export function resolveMoment(value: string | number | undefined, now: Date, where: string): Date | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number' || /^\d+(\.\d+)?$/.test(value)) return new Date(Number(value) * 1000);
  const ago = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(value.trim());
  if (ago) return new Date(now.getTime() - Number(ago[1]) * agoUnits[ago[2]!]!);
  const parsed = Date.parse(value);
  if (Number.isNaN(parsed)) throw new Error(`${where} "${value}" is not a time: write an RFC 3339 date, Unix seconds, or a duration back from now such as 10m`);
  return new Date(parsed);
}

export const logsStep = defineStep({
  type: 'evidence.logs',
  description: 'Save the container log with the engine\'s timestamps, stdout and stderr in separate files',
  input: z.object({ since: moment, until: moment, tail }).strict(),
  outputs: ['stdout-bytes', 'stderr-bytes', 'tty', 'since', 'until'],
  timeout: 5 * 60_000,
  mutates: false,
  plan: ({ since, until, tail: lines }) =>
    `save logs.stdout.log and logs.stderr.log (${lines === 'all' ? 'all lines' : `last ${lines} lines`}` +
    `${since !== undefined ? `, since ${since}` : ''}${until !== undefined ? `, until ${until}` : ''})`,
  async run(ctx, input) {
    const now = new Date();
    const since = resolveMoment(input.since, now, 'since');
    const until = resolveMoment(input.until, now, 'until');
    const window = { ...(since ? { since: since.toISOString() } : {}), ...(until ? { until: until.toISOString() } : {}) };
    const { tty } = await ctx.engine.containers.inspect(ctx.target.id, ctx.signal);
    // follow: false, so the stream ends at the log's current end instead of waiting for more.
    const source = await ctx.engine.containers.logs(ctx.target.id, { since, until, tail: input.tail, timestamps: true }, ctx.signal);

    if (tty) {
      // With a TTY the engine has one pseudo-terminal, so stdout and stderr are already one
      // stream, without frames: there is nothing to split.
      const out = await ctx.artifacts.stream('logs.stdout.log', source);
      return {
        outputs: { 'stdout-bytes': out.size, 'stderr-bytes': 0, tty: true, ...window },
        note: `TTY container: stdout and stderr are one stream, all in logs.stdout.log (${formatBytes(out.size)})`,
      };
    }

    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const [out, err] = await Promise.all([
      ctx.artifacts.stream('logs.stdout.log', stdout),
      ctx.artifacts.stream('logs.stderr.log', stderr),
      demultiplex(source, stdout, stderr),
    ]);
    return {
      outputs: { 'stdout-bytes': out.size, 'stderr-bytes': err.size, tty: false, ...window },
      note: `stdout ${formatBytes(out.size)}, stderr ${formatBytes(err.size)}`,
    };
  },
});
