import { z } from 'zod';
import { expectListSchema } from './expect/schema.js';
import { durationMs, durationPattern, durationProblem, maxTimerMs, maxTimerText } from '../duration.js';

/**
 * The playbook format. The zod schema is the single source: the TypeScript types below are
 * inferred from it and `firebreak playbooks schema` prints its JSON Schema for editors.
 */

/** Every way a duration can be wrong (-5s, -5, .nan, true) is told by one function, with the value. */
const notDuration = (issue: { input?: unknown }) =>
  durationProblem(issue.input) ?? 'a duration such as 500ms, 10s or 2m';

const duration = z
  .union(
    [
      z.string().regex(durationPattern, { error: notDuration }),
      z.number({ error: notDuration }).nonnegative({ error: notDuration }),
    ],
    {
      error: notDuration,
    },
  )
  .superRefine((value, ctx) => {
    // Past setTimeout's limit a wait fires at once instead of never: refused here, with the limit named.
    if ((durationMs(value) ?? 0) > maxTimerMs) ctx.addIssue({ code: 'custom', message: durationProblem(value)! });
  })
  .describe(`A duration: 500ms, 10s, 2m, 1h, or a number of seconds; at most ${maxTimerText}`);

/** A timeout of zero would fail every attempt before it starts. */
const timeout = duration.refine((value) => durationMs(value) !== 0, 'a timeout must be longer than 0 (at least 1ms)');

export const retrySchema = z
  .object({
    attempts: z.number().int().min(1).max(100).describe('Total attempts, the first one included'),
    delay: duration.default('1s').describe('Wait before the second attempt'),
    backoff: z.enum(['fixed', 'exponential']).default('fixed'),
    'max-delay': duration.optional().describe('Upper bound for an exponential delay'),
  })
  .strict();

const identifier = z
  .string()
  .regex(/^[a-z][a-z0-9_-]*$/, 'lower-case letters, digits, - and _, starting with a letter');

export const paramTypes = ['string', 'number', 'boolean', 'string-list', 'duration'] as const;

export const paramSchema = z
  .object({
    type: z.enum(paramTypes),
    default: z.unknown().optional(),
    required: z.boolean().optional(),
    description: z.string().optional(),
  })
  .strict();

export interface StepSpec {
  id?: string;
  name?: string;
  uses: string;
  with?: Record<string, unknown>;
  timeout?: string | number;
  retry?: z.infer<typeof retrySchema>;
  'continue-on-error'?: boolean;
  steps?: StepSpec[];
}

export const stepSchema: z.ZodType<StepSpec> = z
  .object({
    id: identifier.optional().describe('Names the step for templates (steps.<id>.outputs) and the report'),
    name: z.string().optional().describe('A human title for progress and the report'),
    uses: z.string().describe('The step type, family.verb, or group'),
    with: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('Inputs of the step type; strings may hold ${{ }} templates'),
    timeout: timeout.optional(),
    retry: retrySchema.optional(),
    'continue-on-error': z.boolean().optional().describe('A failure is recorded but does not stop the playbook'),
    get steps() {
      return z.array(stepSchema).min(1).optional().describe('The steps of a group, run as one unit');
    },
  })
  .strict() as unknown as z.ZodType<StepSpec>;

export const playbookSchema = z
  .object({
    name: identifier,
    description: z.string().optional(),
    params: z.record(identifier, paramSchema).default({}),
    steps: z.array(stepSchema).min(1),
    'on-failure': z.array(stepSchema).optional().describe('Run on a target after a step there failed'),
    expect: expectListSchema.optional(),
  })
  .strict();

export type Playbook = z.output<typeof playbookSchema>;
export type ParamSpec = z.output<typeof paramSchema>;
export type RetryPolicy = z.output<typeof retrySchema>;

export function playbookJsonSchema(): unknown {
  return z.toJSONSchema(playbookSchema, { io: 'input', unrepresentable: 'any' });
}
