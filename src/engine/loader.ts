import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { UsageError } from '../errors.js';
import { groupType, stepTypes } from '../steps/registry.js';
import { parseDuration } from '../duration.js';
import type { LoadedPlaybook, LoadedStep } from './playbook.js';
import { playbookSchema, type StepSpec } from './schema.js';
import { checkExpression, expressionsIn, type TemplateNames } from './template.js';
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
    throw new UsageError(`playbook "${reference}" is neither a built-in (${builtInNames().join(', ')}) nor a file`);
  }
  return parsePlaybook(readFileSync(file, 'utf8'), builtIn ? `playbooks/${reference}.yaml` : file, builtIn);
}

export function parsePlaybook(text: string, file: string, builtIn = false): LoadedPlaybook {
  const yaml = parseYaml(text, file);
  const parsed = playbookSchema.safeParse(yaml.value);
  if (!parsed.success) throw schemaError(parsed.error, yaml);
  const spec = parsed.data;

  const ids = new Set<string>();
  const names: LoadScope['names'] = { params: new Set(Object.keys(spec.params)), steps: new Map() };
  const steps = spec.steps.map((step, i) => loadStep(step, ['steps', i], { yaml, ids, names }));
  const onFailure = (spec['on-failure'] ?? []).map((step, i) => loadStep(step, ['on-failure', i], { yaml, ids, names }));
  checkParamDefaults(spec.params, yaml);
  return {
    name: spec.name,
    description: spec.description,
    source: file,
    builtIn,
    params: spec.params,
    steps,
    onFailure,
    expect: spec.expect ?? [],
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
    throw fail(`unknown step type "${step.uses}"; known: ${[...stepTypes.keys(), groupType].sort().join(', ')}`, [...path, 'uses']);
  }
  if (isGroup && !step.steps) throw fail('a group needs steps');
  if (!isGroup && step.steps) throw fail(`only a group has steps; ${step.uses} does not`, [...path, 'steps']);
  if (isGroup && step.with) throw fail('a group takes no inputs (with)', [...path, 'with']);

  const input = step.with ?? {};
  for (const expression of expressionsIn(input)) {
    const problem = checkExpression(expression, scope.names);
    if (problem) throw fail(`template \${{ ${expression} }}: ${problem}`, [...path, 'with', ...pathOfExpression(input, expression)]);
  }
  if (type) checkInput(type.input, input, (message, at) => fail(message, [...path, 'with', ...at]));

  const children = step.steps?.map((child, i) => loadStep(child, [...path, 'steps', i], scope));
  // Registered only now: a step cannot read its own outputs, later steps can.
  scope.names.steps.set(id, type?.outputs);
  const where = formatYamlPath(path);
  return {
    id,
    name: step.name,
    uses: step.uses,
    with: input,
    timeoutMs: step.timeout !== undefined ? parseDuration(step.timeout, `${where}.timeout`) : (type?.timeout ?? groupTimeoutMs),
    retry: step.retry,
    continueOnError: step['continue-on-error'] ?? false,
    steps: children,
    type,
    yamlPath: where,
  };
}

/** Check inputs now, except the values that templates fill in at run time. */
function checkInput(schema: z.ZodType, input: Record<string, unknown>, fail: (m: string, at: PropertyKey[]) => Error): void {
  const result = schema.safeParse(input);
  if (result.success) return;
  for (const issue of result.error.issues) {
    const value = valueAt(input, issue.path);
    if (expressionsIn(value).length > 0) continue;
    const keys = 'keys' in issue && Array.isArray(issue.keys) ? issue.keys : [];
    throw fail(`${issue.message}${keys.length ? ` (${keys.join(', ')})` : ''}`, [...issue.path, ...keys.slice(0, 1)]);
  }
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>((v, key) => (v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[key] : undefined), value);
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
    const ok =
      spec.type === 'string-list'
        ? Array.isArray(spec.default) && spec.default.every((v) => typeof v === 'string')
        : spec.type === 'duration'
          ? typeof spec.default === 'string' || typeof spec.default === 'number'
          : typeof spec.default === spec.type;
    if (!ok) {
      const path = ['params', name, 'default'];
      throw new UsageError(`${yaml.locate(path)}: ${formatYamlPath(path)}: the default is not a ${spec.type}`);
    }
  }
}

function schemaError(error: z.ZodError, yaml: ParsedYaml): UsageError {
  const issue = error.issues[0]!;
  const keys = 'keys' in issue && Array.isArray(issue.keys) ? ` (${issue.keys.join(', ')})` : '';
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more problem${error.issues.length > 2 ? 's' : ''})` : '';
  const path = [...(issue.path as PropertyKey[]), ...('keys' in issue && Array.isArray(issue.keys) ? issue.keys.slice(0, 1) : [])];
  return new UsageError(`${yaml.locate(path)}: ${formatYamlPath(path) || '(top)'}: ${issue.message}${keys}${more}`);
}
