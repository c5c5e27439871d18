import { z } from 'zod';

/**
 * The `expect` list of a playbook: post-conditions a drill checks against the engine after the
 * run. A bare word checks a state; a one-key mapping carries the value the state must have.
 */

export const stateExpectations = [
  'isolated',
  'networks-restored',
  'stopped',
  'running',
  'paused',
  'healthy',
  'bundle-verifies',
] as const;

export const restartPolicies = ['no', 'always', 'unless-stopped', 'on-failure'] as const;

const limitValue = z.union([z.string(), z.number()]);

const limitsSchema = z
  .object({
    limits: z
      .object({ cpus: limitValue.optional(), memory: limitValue.optional(), pids: limitValue.optional() })
      .strict()
      .refine((limits) => Object.keys(limits).length > 0, 'name at least one of cpus, memory, pids'),
  })
  .strict();
const imageTaggedSchema = z.object({ 'image-tagged': z.string().min(1) }).strict();
const restartPolicySchema = z.object({ 'restart-policy': z.enum(restartPolicies) }).strict();

const known = `${stateExpectations.join(', ')}, limits: {cpus, memory, pids}, image-tagged: REPO, restart-policy: ${restartPolicies.join('|')}`;

/** One message per wrong entry, in the words of the list above, whatever zod found first. */
function expectationProblem(input: unknown): string {
  if (typeof input === 'string') return `unknown expectation "${input}"; known: ${known}`;
  if (input && typeof input === 'object' && !Array.isArray(input)) {
    const keys = Object.keys(input);
    const value = (input as Record<string, unknown>)[keys[0] ?? ''];
    if (keys.length === 1 && keys[0] === 'limits')
      return 'limits takes a mapping of cpus, memory and pids (at least one), e.g. limits: {cpus: 0.5, pids: 100}';
    if (keys.length === 1 && keys[0] === 'image-tagged')
      return `image-tagged takes a repository, e.g. image-tagged: quarantine/suspicious, not ${JSON.stringify(value)}`;
    if (keys.length === 1 && keys[0] === 'restart-policy')
      return `restart-policy is one of ${restartPolicies.join(', ')}, not ${JSON.stringify(value)}`;
    return `unknown expectation {${keys.join(', ')}}; known: ${known}`;
  }
  return `an expectation is a word or a one-key mapping; known: ${known}`;
}

export const expectationSchema = z
  .union([z.enum(stateExpectations), limitsSchema, imageTaggedSchema, restartPolicySchema], {
    error: (issue) => expectationProblem(issue.input),
  })
  .describe(`A post-condition checked by drills: ${known}`);

export const expectListSchema = z
  .array(expectationSchema)
  .describe('Post-conditions checked against the engine after a drill (firebreak drill)');

export type ExpectationSpec = z.output<typeof expectationSchema>;
export type LimitExpectation = z.output<typeof limitsSchema>['limits'];
