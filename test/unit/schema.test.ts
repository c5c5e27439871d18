import { describe, expect, it } from 'vitest';
import { paramTypes, playbookJsonSchema, playbookSchema } from '../../src/engine/schema.js';

type JsonSchema = {
  type?: string;
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  required?: string[];
  enum?: string[];
  default?: unknown;
};

const schema = playbookJsonSchema() as JsonSchema;

/** Follows a local $ref such as #/$defs/step. */
function resolve(node: JsonSchema): JsonSchema {
  if (!node.$ref) return node;
  expect(node.$ref.startsWith('#/')).toBe(true);
  const target = node.$ref
    .slice(2)
    .split('/')
    .reduce<unknown>((at, key) => (at as Record<string, unknown>)[key], schema);
  expect(target).toBeTypeOf('object');
  return target as JsonSchema;
}

describe('playbookJsonSchema', () => {
  it('is a JSON Schema object that survives JSON serialisation', () => {
    expect(schema.type).toBe('object');
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
    expect((schema as { $schema?: string }).$schema).toMatch(/json-schema\.org/);
  });

  it('describes name, params and steps, requiring name and steps', () => {
    expect(Object.keys(schema.properties!)).toEqual(
      expect.arrayContaining(['name', 'description', 'params', 'steps', 'on-failure', 'expect']),
    );
    expect(schema.required).toEqual(expect.arrayContaining(['name', 'steps']));
    expect(schema.required).not.toContain('params');
    expect(schema.additionalProperties).toBe(false);
  });

  it('describes params as a map of typed parameters', () => {
    const params = schema.properties!.params!;
    expect(params.type).toBe('object');
    const param = resolve(params.additionalProperties as JsonSchema);
    expect(param.properties!.type!.enum).toEqual([...paramTypes]);
    expect(param.required).toEqual(['type']);
  });

  it('describes a step with uses required and the retry policy', () => {
    const steps = schema.properties!.steps!;
    expect(steps.type).toBe('array');
    const step = resolve(steps.items!);
    expect(step.type).toBe('object');
    expect(step.required).toEqual(['uses']);
    expect(Object.keys(step.properties!)).toEqual(
      expect.arrayContaining(['id', 'name', 'uses', 'with', 'timeout', 'retry', 'continue-on-error', 'steps']),
    );
    const retry = resolve(step.properties!.retry!);
    expect(retry.required).toEqual(['attempts']);
    expect(retry.properties!.backoff!.enum).toEqual(['fixed', 'exponential']);
  });

  it('describes the steps of a group with the same step schema, recursively', () => {
    const step = resolve(schema.properties!.steps!.items!);
    const groupSteps = step.properties!.steps!;
    expect(groupSteps.type).toBe('array');
    expect(resolve(groupSteps.items!)).toBe(step);
    expect(resolve(schema.properties!['on-failure']!.items!)).toBe(step);
  });

  it('comes from the same zod schema that loads playbooks', () => {
    expect(
      playbookSchema.safeParse({
        name: 'x',
        steps: [{ uses: 'group', steps: [{ uses: 'note', with: { text: 'hi' } }] }],
      }).success,
    ).toBe(true);
    expect(playbookSchema.safeParse({ name: 'x', steps: [{ uses: 'note', bogus: 1 }] }).success).toBe(false);
  });
});
