import { parseCpus, parseMemory, parsePids } from '../../steps/limits.js';
import { checkExpression, expressionsIn, type TemplateNames } from '../template.js';
import type { ExpectationSpec, LimitExpectation } from './schema.js';
import { stateExpectations } from './schema.js';

type StateKind = (typeof stateExpectations)[number];

/** An expectation after loading: what it checks, and how the playbook wrote it (for reports). */
export type Expectation = { label: string; yamlPath: string } & (
  | { kind: StateKind }
  | { kind: 'limits'; limits: LimitExpectation }
  | { kind: 'image-tagged'; repository: string }
  | { kind: 'restart-policy'; policy: string }
);

export const limitParsers = { cpus: parseCpus, memory: parseMemory, pids: parsePids } as const;

/**
 * Checked when the playbook loads: template names (params, and outputs of the playbook's steps,
 * which exist by the time expectations are checked) and every limit written without a template.
 */
export function loadExpectations(
  specs: readonly ExpectationSpec[],
  names: TemplateNames,
  fail: (message: string, path: PropertyKey[]) => Error,
): Expectation[] {
  return specs.map((spec, i) => {
    const yamlPath = `expect[${i}]`;
    if (typeof spec === 'string') return { kind: spec, label: spec, yamlPath };
    if ('limits' in spec) {
      for (const [key, value] of Object.entries(spec.limits)) {
        const at = ['expect', i, 'limits', key];
        const expressions = expressionsIn(value);
        for (const expression of expressions) {
          const problem = checkExpression(expression, names);
          if (problem) throw fail(`template \${{ ${expression} }}: ${problem}`, at);
        }
        if (expressions.length > 0) continue;
        try {
          limitParsers[key as keyof typeof limitParsers](value!);
        } catch (error) {
          throw fail((error as Error).message, at);
        }
      }
      return { kind: 'limits', limits: spec.limits, label: `limits: ${inline(spec.limits)}`, yamlPath };
    }
    if ('image-tagged' in spec) {
      const repository = spec['image-tagged'];
      for (const expression of expressionsIn(repository)) {
        const problem = checkExpression(expression, names);
        if (problem) throw fail(`template \${{ ${expression} }}: ${problem}`, ['expect', i, 'image-tagged']);
      }
      return { kind: 'image-tagged', repository, label: `image-tagged: ${repository}`, yamlPath };
    }
    return {
      kind: 'restart-policy',
      policy: spec['restart-policy'],
      label: `restart-policy: ${spec['restart-policy']}`,
      yamlPath,
    };
  });
}

function inline(value: Record<string, unknown>): string {
  return `{${Object.entries(value)
    .map(([k, v]) => `${k}: ${String(v)}`)
    .join(', ')}}`;
}
