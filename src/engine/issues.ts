import type { z } from 'zod';
import { paramSchema, playbookSchema, retrySchema, stepSchema } from './schema.js';

/**
 * zod's issues in a playbook writer's words: which key is unknown and which ones are known, which
 * one is missing, which parameter name is not a name. Each comes with the path to point at.
 */
export interface Problem {
  message: string;
  path: PropertyKey[];
}

type Issue = z.core.$ZodIssue;

/** A misspelt key explains the "missing" issue that comes with it: the unknown key is told first. */
export function firstIssue(issues: readonly Issue[]): Issue {
  return issues.find((issue) => issue.code === 'unrecognized_keys') ?? issues[0]!;
}

/** `known` lists the keys the object at the issue's path takes, when the caller knows them. */
export function problemOf(
  issue: Issue,
  value: unknown,
  known?: (path: readonly PropertyKey[]) => readonly string[] | undefined,
): Problem {
  const path = issue.path as PropertyKey[];
  if (issue.code === 'unrecognized_keys') {
    const keys = known?.(path);
    const [first, ...rest] = issue.keys;
    const shown = rest.slice(0, 3).map((k) => `"${k}"`);
    if (rest.length > shown.length) shown.push(`${rest.length - shown.length} more`);
    const also = shown.length ? ` (and ${shown.join(', ')})` : '';
    return {
      message: `unknown key "${first}"${also}${keys ? `; known: ${keys.join(', ')}` : ''}`,
      path: [...path, first!],
    };
  }
  if (issue.code === 'invalid_key') {
    const inner = issue.issues[0]?.message ?? issue.message;
    return { message: `"${String(path.at(-1))}" is not a usable name: ${inner}`, path };
  }
  if (issue.code === 'invalid_type' && valueAt(value, path) === undefined) {
    return { message: `missing: expected ${kinds[issue.expected] ?? issue.expected}`, path };
  }
  return { message: issue.message, path };
}

const kinds: Record<string, string> = {
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
  string: 'text',
  number: 'a number',
  boolean: 'true or false',
};

/** The keys of the playbook format's objects, found from where they sit. */
export function playbookKeys(path: readonly PropertyKey[]): readonly string[] | undefined {
  const [last, parent] = [path.at(-1), path.at(-2)];
  if (path.length === 0) return Object.keys(playbookSchema.shape);
  if (typeof last === 'number' && (parent === 'steps' || parent === 'on-failure')) return objectKeys(stepSchema);
  if (last === 'retry') return Object.keys(retrySchema.shape);
  if (path.length === 2 && path[0] === 'params') return Object.keys(paramSchema.shape);
  return undefined;
}

/** The input names of a step type's schema, through the transforms and refinements around its object. */
export function objectKeys(schema: z.ZodType): readonly string[] | undefined {
  let at: unknown = schema;
  for (let depth = 0; depth < 6 && at && typeof at === 'object'; depth++) {
    const shape = (at as { shape?: unknown }).shape;
    if (shape && typeof shape === 'object') return Object.keys(shape);
    const def = (at as { _zod?: { def?: { in?: unknown; innerType?: unknown; schema?: unknown } } })._zod?.def;
    at = def?.in ?? def?.innerType ?? def?.schema;
  }
  return undefined;
}

export function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>(
    (v, key) => (v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[key] : undefined),
    value,
  );
}
