import { UsageError } from '../errors.js';
import { parseDuration } from '../duration.js';
import { checkParamInputs, type ParamFlags } from './input.js';
import type { LoadedPlaybook } from './playbook.js';

/**
 * Turn the values given on the command line (strings, or already typed from a command's flags)
 * into the types the playbook declares, with defaults; unknown or missing names are usage errors,
 * and so is a value that a step that reads it would refuse. `flags` names the flag each value came
 * from (`--since`); a name not there came from `--param NAME=VALUE`.
 */
export function resolveParams(
  playbook: LoadedPlaybook,
  given: Record<string, unknown>,
  flags: ParamFlags = {},
): Record<string, unknown> {
  for (const name of Object.keys(given)) {
    if (!(name in playbook.params)) {
      const known = Object.keys(playbook.params);
      throw new UsageError(
        `${flags[name] ?? `--param ${name}`}: playbook ${playbook.name} has no parameter "${name}"${known.length ? `; it has ${known.join(', ')}` : ''}`,
      );
    }
  }
  const resolved: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(playbook.params)) {
    const value = given[name] ?? spec.default;
    if (value === undefined) {
      if (spec.required) throw new UsageError(`playbook ${playbook.name} needs --param ${name}=<${spec.type}>`);
      continue;
    }
    const where =
      given[name] !== undefined ? (flags[name] ?? `--param ${name}`) : `${playbook.source}: params.${name}.default`;
    resolved[name] = coerce(value, spec.type, where);
  }
  checkParamInputs(resolved, { playbook, given, flags });
  return resolved;
}

function coerce(value: unknown, type: string, where: string): unknown {
  switch (type) {
    case 'string':
      return String(value);
    case 'number': {
      // Number('') is 0: an empty --param must not quietly become zero.
      if (typeof value === 'string' && value.trim() === '')
        throw new UsageError(`${where}: an empty value is not a number`);
      const n = typeof value === 'number' ? value : Number(value);
      if (!Number.isFinite(n)) throw new UsageError(`${where}: "${value}" is not a number`);
      return n;
    }
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (/^(true|yes|1)$/i.test(String(value))) return true;
      if (/^(false|no|0)$/i.test(String(value))) return false;
      throw new UsageError(`${where}: "${value}" is not true or false`);
    case 'string-list':
      if (Array.isArray(value)) return value.map(String);
      return String(value)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    case 'duration':
      parseDuration(value as string | number, where);
      return value;
    default:
      return value;
  }
}

/** `--param k=v` flags as a record; a repeated name collects a list. */
export function parseParamFlags(flags: readonly string[]): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param "${flag}": expected NAME=VALUE`);
    const name = flag.slice(0, eq);
    const value = flag.slice(eq + 1);
    const previous = params[name];
    params[name] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  return params;
}

/** Where each value of `--param NAME=VALUE` came from, as messages name it. */
export function paramFlagsOf(params: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.keys(params).map((name) => [name, `--param ${name}`]));
}
