import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { UsageError } from '../errors.js';
import { groupType, stepTypes } from '../steps/registry.js';
import { durationProblem, maxTimerMs, maxTimerText, parseDuration } from '../duration.js';
import type { LoadedPlaybook, LoadedStep } from './playbook.js';
import { loadExpectations } from './expect/load.js';
import { retryDelay } from './retry.js';
import { firstIssue, objectKeys, playbookKeys, problemOf, valueAt } from './issues.js';
import { checkStepCount, checkStepCountInText, readPlaybookFile } from './playbook-file.js';
import { playbookSchema, type RetryPolicy, type StepSpec } from './schema.js';
import { checkExpression, expressionsIn, unclosedTemplate, type TemplateNames } from './template.js';
import { formatYamlPath, parseYaml, type ParsedYaml } from './yaml-location.js';

const groupTimeoutMs = 10 * 60_000;

/** The built-in playbooks ship beside dist/ and src/. */
export const builtInDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'playbooks');

export function builtInNames(): string[] {
  return readdirSync(builtInDir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => basename(f, '.yaml'))
    .sort();
}

/** A built-in name or a path to a YAML file: both take the same road from here. */
export function loadPlaybook(reference: string): LoadedPlaybook {
  const builtIn = /^[a-z][a-z0-9_-]*$/.test(reference) && existsSync(join(builtInDir, `${reference}.yaml`));
  const file = builtIn ? join(builtInDir, `${reference}.yaml`) : reference;
  if (!existsSync(file)) {
    if (/[/\\]|\.ya?ml$/i.test(reference)) throw new UsageError(`${reference}: no such playbook file`);
    throw new UsageError(`playbook "${reference}" is neither a built-in (${builtInNames().join(', ')}) nor a file`);
  }
  return parsePlaybook(readPlaybookFile(file), builtIn ? `playbooks/${reference}.yaml` : file, builtIn);
}

export function parsePlaybook(text: string, file: string, builtIn = false): LoadedPlaybook {
  checkStepCountInText(text, file);
  const yaml = parseYaml(text, file);
  checkIsMapping(yaml, file);
  checkStepCount(yaml);
  checkTemplatesClosed(yaml);
  const parsed = playbookSchema.safeParse(yaml.value);
  if (!parsed.success) throw schemaError(parsed.error, yaml);
  const spec = parsed.data;

  const ids = new Set<string>();
  const names: LoadScope['names'] = { params: new Set(Object.keys(spec.params)), steps: new Map() };
  const steps = spec.steps.map((step, i) => loadStep(step, ['steps', i], { yaml, ids, names }));
  const onFailure = (spec['on-failure'] ?? []).map((step, i) =>
    loadStep(step, ['on-failure', i], { yaml, ids, names }),
  );
  checkParamDefaults(spec.params, yaml);
  const expect = loadExpectations(
    spec.expect ?? [],
    names,
    (message, at) => new UsageError(`${yaml.locate(at)}: ${formatYamlPath(at)}: ${message}`),
  );
  return {
    name: spec.name,
    description: spec.description,
    source: file,
    builtIn,
    params: spec.params,
    steps,
    onFailure,
    expect,
    text,
  };
}

interface LoadScope {
  yaml: ParsedYaml;
  ids: Set<string>;
  names: TemplateNames & { steps: Map<string, readonly string[] | undefined> };
}

function loadStep(step: StepSpec, path: PropertyKey[], scope: LoadScope): LoadedStep {
  const fail = (message: string, at: PropertyKey[] = path) =>
    new UsageError(`${scope.yaml.locate(at)}: ${formatYamlPath(at)}: ${message}`);

  const id = step.id ?? uniqueId(step.uses.split('.').pop() ?? 'step', scope.ids);
  if (scope.ids.has(id)) throw fail(`step id "${id}" is used twice`, [...path, 'id']);
  scope.ids.add(id);

  const isGroup = step.uses === groupType;
  const type = stepTypes.get(step.uses);
  if (!isGroup && !type) {
    throw fail(`unknown step type "${step.uses}"; known: ${[...stepTypes.keys(), groupType].sort().join(', ')}`, [
      ...path,
      'uses',
    ]);
  }
  if (isGroup && !step.steps) throw fail('a group needs steps');
  if (!isGroup && step.steps) throw fail(`only a group has steps; ${step.uses} does not`, [...path, 'steps']);
  if (isGroup && step.with) throw fail('a group takes no inputs (with)', [...path, 'with']);

  if (step.retry) {
    const problem = retryProblem(step.retry);
    if (problem) throw fail(problem, [...path, 'retry']);
  }

  const input = step.with ?? {};
  for (const expression of expressionsIn(input)) {
    const problem = checkExpression(expression, scope.names);
    if (problem)
      throw fail(`template \${{ ${expression} }}: ${problem}`, [
        ...path,
        'with',
        ...pathOfExpression(input, expression),
      ]);
  }
  if (type) checkInput(type.input, input, step, (message, at) => fail(message, [...path, 'with', ...at]));

  const children = step.steps?.map((child, i) => loadStep(child, [...path, 'steps', i], scope));
  // Registered only now: a step cannot read its own outputs, later steps can.
  scope.names.steps.set(id, type?.outputs);
  const where = formatYamlPath(path);
  return {
    id,
    name: step.name,
    uses: step.uses,
    with: input,
    timeoutMs:
      step.timeout !== undefined ? parseDuration(step.timeout, `${where}.timeout`) : (type?.timeout ?? groupTimeoutMs),
    retry: step.retry,
    continueOnError: step['continue-on-error'] ?? false,
    steps: children,
    type,
    yamlPath: where,
  };
}

/** Check inputs now, except the values that templates fill in at run time. */
function checkInput(
  schema: z.ZodType,
  input: Record<string, unknown>,
  names: { uses: string },
  fail: (m: string, at: PropertyKey[]) => Error,
): void {
  const result = schema.safeParse(input);
  if (result.success) return;
  const issues = result.error.issues.filter((issue) => expressionsIn(valueAt(input, issue.path)).length === 0);
  if (issues.length === 0) return;
  const issue = firstIssue(issues);
  if (issue.code === 'unrecognized_keys') {
    // Said in the words of the step catalogue: a step takes inputs.
    const keys = objectKeys(schema);
    const takes = !keys
      ? ''
      : keys.length
        ? `; ${names.uses} takes ${keys.join(', ')}`
        : `; ${names.uses} takes no inputs`;
    throw fail(`unknown input "${issue.keys[0]}"${takes}`, [...issue.path, issue.keys[0]!]);
  }
  const problem = problemOf(issue, input);
  throw fail(problem.message, problem.path);
}

function pathOfExpression(input: Record<string, unknown>, expression: string): PropertyKey[] {
  for (const [key, value] of Object.entries(input)) {
    if (expressionsIn(value).includes(expression)) return [key];
  }
  return [];
}

function uniqueId(base: string, taken: ReadonlySet<string>): string {
  const clean = base.toLowerCase().replace(/[^a-z0-9_-]/g, '-');
  if (!taken.has(clean)) return clean;
  for (let n = 2; ; n++) if (!taken.has(`${clean}-${n}`)) return `${clean}-${n}`;
}

function checkParamDefaults(params: LoadedPlaybook['params'], yaml: ParsedYaml): void {
  for (const [name, spec] of Object.entries(params)) {
    if (spec.default === undefined) continue;
    const path = ['params', name, 'default'];
    const fail = (problem: string) => new UsageError(`${yaml.locate(path)}: ${formatYamlPath(path)}: ${problem}`);
    const ok =
      spec.type === 'string-list'
        ? Array.isArray(spec.default) && spec.default.every((v) => typeof v === 'string')
        : spec.type === 'duration'
          ? typeof spec.default === 'string' || typeof spec.default === 'number'
          : typeof spec.default === spec.type;
    if (!ok) throw fail(`the default is not a ${spec.type}`);
    // A bad default would otherwise surface only on the run that leaves the parameter out.
    const problem = spec.type === 'duration' ? durationProblem(spec.default) : undefined;
    if (problem) throw fail(problem);
  }
}

/** The longest wait a policy asks for must fit a timer too: exponential backoff doubles past it quickly. */
function retryProblem(policy: RetryPolicy): string | undefined {
  const delay = parseDuration(policy.delay);
  if (policy['max-delay'] !== undefined && parseDuration(policy['max-delay']) < delay) {
    return `max-delay ${policy['max-delay']} is shorter than delay ${policy.delay}`;
  }
  if (policy.attempts > 1 && retryDelay(policy, policy.attempts - 1) > maxTimerMs) {
    return (
      `${policy.backoff} backoff from ${policy.delay} would wait longer than a timer can before attempt ${policy.attempts}, ` +
      `at most ${maxTimerText}: set max-delay`
    );
  }
  return undefined;
}

function checkIsMapping(yaml: ParsedYaml, file: string): void {
  const { value } = yaml;
  if (value === null || value === undefined)
    throw new UsageError(`${file}: empty: a playbook is a YAML mapping with name: and steps:`);
  if (typeof value !== 'object' || Array.isArray(value)) {
    const kind = Array.isArray(value)
      ? 'a list'
      : typeof value === 'string'
        ? `the text "${value.slice(0, 40)}"`
        : `the ${typeof value} ${String(value)}`;
    throw new UsageError(`${yaml.locate([])}: a playbook is a YAML mapping with name: and steps:, not ${kind}`);
  }
}

/** A `${{` left open would reach a container or an alert as literal text: refused in any string of the file. */
function checkTemplatesClosed(yaml: ParsedYaml): void {
  const visit = (value: unknown, path: PropertyKey[]): void => {
    if (typeof value === 'string') {
      const problem = unclosedTemplate(value);
      if (problem) throw new UsageError(`${yaml.locate(path)}: ${formatYamlPath(path) || '(top)'}: ${problem}`);
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => visit(item, [...path, i]));
    } else if (value && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) visit(item, [...path, key]);
    }
  };
  visit(yaml.value, []);
}

function schemaError(error: z.ZodError, yaml: ParsedYaml): UsageError {
  const issue = firstIssue(error.issues);
  const { message, path } = problemOf(issue, yaml.value, playbookKeys);
  const others = error.issues.length - 1;
  const more = others > 0 ? ` (and ${others} more problem${others > 1 ? 's' : ''})` : '';
  return new UsageError(`${yaml.locate(path)}: ${formatYamlPath(path) || '(top)'}: ${message}${more}`);
}
