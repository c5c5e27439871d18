import type { z } from 'zod';
import { UsageError } from '../errors.js';
import type { LoadedPlaybook, LoadedStep } from './playbook.js';
import { expressionsIn, renderTemplates, type TemplateScope } from './template.js';

/** Fill in a step's templates and check the result against its type's input schema. */
export function resolveInput(step: LoadedStep, scope: TemplateScope): unknown {
  const result = step.type!.input.safeParse(renderTemplates(step.with, scope));
  if (!result.success) throw new UsageError(inputIssueMessage(step, result.error.issues[0]!));
  return result.data;
}

/**
 * For the plan: the inputs, or the issues that only earlier steps' outputs can settle (those
 * exist at run time only). Any other issue is thrown: a bad value found mid-containment is too late.
 */
export function planInput(step: LoadedStep, scope: TemplateScope): { input: unknown } | { waits: true } {
  const result = step.type!.input.safeParse(renderTemplates(step.with, scope));
  if (result.success) return { input: result.data };
  const own = result.error.issues.find(
    (issue) => !expressionsIn(rawAt(step.with, issue.path)).some((e) => e.startsWith('steps.')),
  );
  if (own) throw new UsageError(inputIssueMessage(step, own));
  return { waits: true };
}

function inputIssueMessage(step: LoadedStep, issue: z.core.$ZodIssue): string {
  const at = issue.path.length ? `.${issue.path.join('.')}` : '';
  return `${step.yamlPath}.with${at} (${step.uses}): ${issue.message}`;
}

/** How the operator gave each parameter, for messages: `--since`, `--param since`. */
export type ParamFlags = Readonly<Record<string, string>>;

interface ParamOrigin {
  playbook: LoadedPlaybook;
  /** The values as the operator gave them; a name not here took the playbook's default. */
  given: Readonly<Record<string, unknown>>;
  flags: ParamFlags;
}

/**
 * Check every step input that reads parameters, as soon as the parameters are known: before the
 * engine is asked anything and long before anything changes. A bad value is reported under the
 * flag it came from (`--since "yesterday": ...`), not under the step's place in a playbook the
 * operator never wrote. Inputs that also read the target or earlier steps wait for the plan.
 */
export function checkParamInputs(params: Record<string, unknown>, origin: ParamOrigin): void {
  const scope: TemplateScope = {
    params,
    target: { id: '', 'short-id': '', name: '', image: '' },
    incident: '',
    now: '',
    run: { id: '', started: '' },
    steps: {},
  };
  for (const step of everyStep([...origin.playbook.steps, ...origin.playbook.onFailure])) {
    if (!step.type || !expressionsIn(step.with).some(readsParam)) continue;
    const result = step.type.input.safeParse(renderTemplates(step.with, scope));
    if (result.success) continue;
    for (const issue of result.error.issues) {
      const message = paramIssueMessage(step, issue, origin);
      if (message) throw new UsageError(message);
    }
  }
}

/** The issue in the operator's terms, or undefined when it is not the parameters' doing alone. */
function paramIssueMessage(step: LoadedStep, issue: z.core.$ZodIssue, origin: ParamOrigin): string | undefined {
  const versus =
    issue.code === 'custom' ? (issue.params as { versus?: string; relation?: string } | undefined) : undefined;
  const fields = [issue.path, ...(versus?.versus ? [[versus.versus]] : [])];
  const expressions = fields.map((path) => expressionsIn(rawAt(step.with, path)));
  // A literal was the loader's to refuse; a value that also reads the target or another step's
  // outputs is known only per target, in the plan.
  if (expressions.flat().length === 0 || !expressions.flat().every(readsParam)) return undefined;

  const given = (name: string) => origin.given[name] !== undefined;
  const defaulted = (name: string) => !given(name) && origin.playbook.params[name]?.default !== undefined;
  const paramLabel = (expression: string): string => {
    const name = paramName(expression);
    if (defaulted(name)) return `params.${name}.default ${shown(origin.playbook.params[name]!.default)}`;
    const flag = origin.flags[name] ?? `--param ${name}`;
    return given(name) ? `${flag} ${shown(origin.given[name])}` : `${flag} (not given)`;
  };
  const label = (path: readonly PropertyKey[], reads: string[]): string =>
    reads.length === 0
      ? `${step.yamlPath}.with.${path.join('.')} ${JSON.stringify(rawAt(step.with, path))}`
      : reads.map(paramLabel).join(' and ');
  const fromDefault = expressions.flat().some((e) => defaulted(paramName(e)));
  const where = fromDefault ? `${origin.playbook.source}: ` : '';
  const [first, second] = fields.map((path, i) => label(path, expressions[i]!));
  if (versus?.relation && second) return `${where}${first} ${versus.relation} ${second}`;
  return `${where}${first}: ${issue.message}`;
}

const readsParam = (expression: string): boolean => expression.startsWith('params.');
const paramName = (expression: string): string => expression.slice('params.'.length);
const shown = (value: unknown): string => JSON.stringify(Array.isArray(value) ? value.join(',') : value);

/** The value as written at a path, stopping at a string: a template may render to a list whose items the issue names. */
function rawAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let at = value;
  for (const key of path) {
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, key)) break;
    at = (at as Record<PropertyKey, unknown>)[key];
  }
  return at;
}

function* everyStep(steps: readonly LoadedStep[]): Generator<LoadedStep> {
  for (const step of steps) {
    yield step;
    if (step.steps) yield* everyStep(step.steps);
  }
}
