import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { durationMs, durationPattern } from '../../duration.js';
import { UsageError } from '../../errors.js';
import { firstIssue, problemOf } from '../issues.js';
import { formatYamlPath, parseYaml } from '../yaml-location.js';

/**
 * A scenario is data: the sacrificial container a drill runs a playbook against (its command,
 * restart policy, healthcheck and networks), what it must show before the playbook runs, and the
 * built-in playbooks it is the default scenario of.
 */

/** The scenarios ship beside playbooks/. */
export const scenarioDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'scenarios');

const name = z.string().regex(/^[a-z][a-z0-9-]*$/, 'lower-case letters, digits and -, starting with a letter');
const duration = z.union([z.string().regex(durationPattern, 'a duration such as 500ms, 10s or 2m'), z.number()]);

const prepareSchema = z.union([
  name,
  z.object({ playbook: name, params: z.record(z.string(), z.unknown()).default({}) }).strict(),
]);

const drillSchema = z
  .object({
    prepare: prepareSchema.optional().describe('A playbook run first, e.g. isolate before restore-network'),
    params: z.record(z.string(), z.unknown()).default({}).describe('Params of the drilled playbook'),
  })
  .strict();

export const scenarioSchema = z
  .object({
    name,
    description: z.string(),
    container: z
      .object({
        command: z.array(z.string()).min(1).optional(),
        restart: z
          .object({
            policy: z.enum(['no', 'always', 'unless-stopped', 'on-failure']),
            'max-retries': z.number().int().min(0).default(0),
          })
          .strict()
          .optional(),
        healthcheck: z
          .object({
            test: z.array(z.string()).min(1),
            interval: duration.default('1s'),
            timeout: duration.default('1s'),
            retries: z.number().int().min(1).default(1),
          })
          .strict()
          .optional(),
      })
      .strict()
      .default({}),
    networks: z
      .array(
        z
          .object({
            name,
            aliases: z.array(z.string().min(1)).default([]),
            'fixed-address': z.boolean().default(false).describe('A subnet of its own and a fixed IPv4 address on it'),
          })
          .strict(),
      )
      .default([])
      .describe('Internal networks to attach the container to; none: the container has no network at all'),
    ready: z
      .object({
        health: z.enum(['healthy', 'unhealthy']).optional(),
        restarts: z.number().int().min(1).optional(),
        file: z.string().startsWith('/').optional(),
        timeout: duration.default('30s'),
      })
      .strict()
      .default({ timeout: '30s' })
      .describe('What the container must show before the playbook runs (it must be running in any case)'),
    drills: z.record(name, drillSchema).default({}).describe('The playbooks this scenario is the default scenario of'),
  })
  .strict();

export type Scenario = z.output<typeof scenarioSchema> & { source: string };
export type DrillDefaults = z.output<typeof drillSchema>;

export function ms(value: string | number): number {
  return durationMs(value) ?? 0;
}

export function scenarioNames(dir = scenarioDir): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => basename(f, '.yaml'))
    .sort();
}

/** A scenario name (from scenarios/) or a path to a YAML file. */
export function loadScenario(reference: string, dir = scenarioDir): Scenario {
  const builtIn = /^[a-z][a-z0-9-]*$/.test(reference) && existsSync(join(dir, `${reference}.yaml`));
  const file = builtIn ? join(dir, `${reference}.yaml`) : reference;
  if (!existsSync(file)) {
    throw new UsageError(`scenario "${reference}" is neither a built-in (${scenarioNames(dir).join(', ')}) nor a file`);
  }
  return parseScenario(readFileSync(file, 'utf8'), builtIn ? `scenarios/${reference}.yaml` : file);
}

export function parseScenario(text: string, file: string): Scenario {
  const yaml = parseYaml(text, file);
  if (!yaml.value || typeof yaml.value !== 'object' || Array.isArray(yaml.value))
    throw new UsageError(`${file}: a scenario is a YAML mapping with name:, description: and container:`);
  const parsed = scenarioSchema.safeParse(yaml.value);
  if (!parsed.success) {
    const issue = firstIssue(parsed.error.issues);
    const { message, path } = problemOf(issue, yaml.value);
    throw new UsageError(`${yaml.locate(path)}: ${formatYamlPath(path) || '(top)'}: ${message}`);
  }
  const names = parsed.data.networks.map((n) => n.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new UsageError(`${yaml.locate(['networks'])}: networks: "${twice}" is named twice`);
  return { ...parsed.data, source: file };
}

/** Every scenario in the folder, each checked; the first bad one is exit 2 naming its file and path. */
export function loadAllScenarios(dir = scenarioDir): Scenario[] {
  return scenarioNames(dir).map((n) => loadScenario(n, dir));
}

/**
 * The default scenario of a playbook: the one whose `drills` names it. Two claiming the same
 * playbook is a mistake in the data, said as such.
 */
export function defaultScenarioOf(
  playbook: string,
  scenarios: readonly Scenario[],
): { scenario: Scenario; defaults: DrillDefaults } | undefined {
  const claims = scenarios.filter((s) => Object.hasOwn(s.drills, playbook));
  if (claims.length > 1)
    throw new UsageError(
      `playbook ${playbook} is the default of two scenarios: ${claims.map((s) => s.source).join(' and ')}`,
    );
  const scenario = claims[0];
  return scenario ? { scenario, defaults: scenario.drills[playbook]! } : undefined;
}

export function prepareOf(
  defaults: DrillDefaults | undefined,
): { playbook: string; params: Record<string, unknown> } | undefined {
  const prepare = defaults?.prepare;
  if (!prepare) return undefined;
  return typeof prepare === 'string' ? { playbook: prepare, params: {} } : prepare;
}
