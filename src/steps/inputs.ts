import { z } from 'zod';
import { durationMs, durationProblem } from '../duration.js';

/**
 * Input pieces shared by the container, image, assert and alert steps. Values often arrive
 * through templates: a playbook parameter that was not given renders as "" or undefined, and
 * both mean "not asked for".
 */

const blankToUndefined = (value: unknown) => (value === '' || value === null ? undefined : value);

/** An optional value in people's notation ("512m", "0.5"), parsed by `parse`; its error becomes the input's message. */
export function parsedField<T>(parse: (value: string | number) => T) {
  return z
    .preprocess(blankToUndefined, z.union([z.string(), z.number()]).optional())
    .transform((value, ctx): T | undefined => {
      if (value === undefined) return undefined;
      try {
        return parse(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    });
}

/** Optional text where "" (an unset parameter) means absent. */
export const optionalText = z.preprocess(blankToUndefined, z.string().optional());

/** true/false, also as the text a template renders. */
export const flag = (fallback: boolean) =>
  z
    .preprocess(blankToUndefined, z.union([z.boolean(), z.enum(['true', 'false'])]).optional())
    .transform((value) => (value === undefined ? fallback : value === true || value === 'true'));

/** The longest grace a stop or restart may ask for; the step's own wait is bounded by it. */
export const maxGraceMs = 5 * 60_000;

/** Seconds between SIGTERM and SIGKILL, as the engine counts them (whole seconds, rounded up). */
export const graceSeconds = z
  .preprocess(blankToUndefined, z.union([z.string(), z.number()]).default('10s'))
  .transform((value, ctx) => {
    // The messages leave out the input's name: the engine puts the flag or the YAML path in front.
    const problem = durationProblem(value);
    const ms = durationMs(value);
    if (problem || ms === undefined) ctx.addIssue({ code: 'custom', message: problem ?? 'not a duration' });
    else if (ms > maxGraceMs)
      ctx.addIssue({ code: 'custom', message: `longer than the ${maxGraceMs / 60_000}m a stop may wait` });
    else return Math.ceil(ms / 1000);
    return z.NEVER;
  });

/**
 * A signal for one engine call that must not outlive `ms`, nor the step: dockerode waits as long
 * as the engine does, and a wedged engine must not hold a containment run.
 */
export function boundedSignal(step: AbortSignal, ms: number): AbortSignal {
  return AbortSignal.any([step, AbortSignal.timeout(ms)]);
}
