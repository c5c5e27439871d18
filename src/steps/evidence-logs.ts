import { PassThrough } from 'node:stream';
import { z } from 'zod';
import { demultiplex } from '../docker/demux.js';
import { formatBytes } from './evidence.js';
import { defineStep } from './types.js';

const momentHint = 'expected a duration like 2h, a time like 2026-12-01T10:00:00Z, or Unix seconds';

/**
 * A point in time as the docker CLI takes it for --since/--until: an RFC 3339 date (the time and
 * zone may be left out), seconds since the epoch, or a duration back from now (90s, 10m, 2h, 7d).
 * Empty means unbounded, so a playbook parameter without a value can be passed straight through.
 */
const moment = z.preprocess(
  (value) => (value === '' || value === null ? undefined : value),
  z
    .union([z.string(), z.number()])
    .optional()
    .refine((value) => value === undefined || isMoment(value), { message: momentHint }),
);

const tail = z.preprocess(
  (value) =>
    value === '' || value === undefined || value === null
      ? 'all'
      : typeof value === 'string' && /^\d+$/.test(value)
        ? Number(value)
        : value,
  z.union([z.literal('all'), z.number().int().nonnegative()], { error: 'a number of lines, or all' }),
);

const agoPattern = /^(\d+(?:\.\d+)?)(s|m|h|d)$/;
const unixPattern = /^\d+(\.\d+)?$/;
// Date.parse alone takes "Tuesday 3" or "1 2": only the shapes the docker CLI documents pass.
const datePattern = /^\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?)?$/i;

function isMoment(value: string | number): boolean {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0;
  const text = value.trim();
  return unixPattern.test(text) || agoPattern.test(text) || (datePattern.test(text) && !Number.isNaN(Date.parse(text)));
}

const agoUnits: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Resolved when the step runs: "10m" means the ten minutes before this collection. */
export function resolveMoment(value: string | number | undefined, now: Date, where: string): Date | undefined {
  if (value === undefined) return undefined;
  if (!isMoment(value)) throw new Error(`${where} ${JSON.stringify(value)}: ${momentHint}`);
  if (typeof value === 'number' || unixPattern.test(value.trim())) return new Date(Number(value) * 1000);
  const ago = agoPattern.exec(value.trim());
  if (ago) return new Date(now.getTime() - Number(ago[1]) * agoUnits[ago[2]!]!);
  return new Date(Date.parse(value.trim()));
}

/**
 * since after until asks for a window that holds no line: refused with both values, before the
 * run. `versus` and `relation` let the engine name both where they came from (two flags).
 */
const logWindow = z
  .object({ since: moment, until: moment, tail })
  .strict()
  .superRefine(({ since, until }, ctx) => {
    // Refinements run even when a field failed (a template not yet filled in): compare only real moments.
    const real = (value: unknown): value is string | number =>
      (typeof value === 'string' || typeof value === 'number') && isMoment(value);
    if (!real(since) || !real(until)) return;
    const now = new Date();
    if (resolveMoment(since, now, 'since')! > resolveMoment(until, now, 'until')!) {
      ctx.addIssue({
        code: 'custom',
        path: ['since'],
        message: `since ${JSON.stringify(since)} is later than until ${JSON.stringify(until)}`,
        params: { versus: 'until', relation: 'is later than' },
      });
    }
  });

export const logsStep = defineStep({
  type: 'evidence.logs',
  description: "Save the container log with the engine's timestamps, stdout and stderr in separate files",
  input: logWindow,
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
    const window = {
      ...(since ? { since: since.toISOString() } : {}),
      ...(until ? { until: until.toISOString() } : {}),
    };
    const { tty } = await ctx.engine.containers.inspect(ctx.target.id, ctx.signal);
    // follow: false, so the stream ends at the log's current end instead of waiting for more.
    const source = await ctx.engine.containers.logs(
      ctx.target.id,
      { since, until, tail: input.tail, timestamps: true },
      ctx.signal,
    );

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
