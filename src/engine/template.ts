/**
 * `${{ ... }}` templates. They are data lookups, never code and never a shell: an expression is a
 * dotted path into the template scope (`params.x`, `target.name`, `steps.snap.outputs.image`,
 * `incident`, `now`, `run.id`). Names are checked when the playbook loads; values are filled in
 * per target when the step runs.
 */

const templatePattern = /\$\{\{\s*([^}]*?)\s*\}\}/g;
const wholePattern = /^\$\{\{\s*([^}]*?)\s*\}\}$/;
const pathPattern = /^[A-Za-z_][\w-]*(?:\.[\w-]+)*$/;

export const targetFields = ['id', 'short-id', 'name', 'image'] as const;
export const runFields = ['id', 'started'] as const;

export interface TemplateScope {
  params: Record<string, unknown>;
  target: { id: string; 'short-id': string; name: string; image: string };
  incident: string;
  now: string;
  run: { id: string; started: string };
  steps: Record<string, { outputs: Record<string, unknown> }>;
}

/** What a playbook may refer to, for load-time checking. */
export interface TemplateNames {
  params: ReadonlySet<string>;
  /** Step ids defined before this point, with the outputs their types declare (undefined: not declared). */
  steps: ReadonlyMap<string, readonly string[] | undefined>;
}

/** Every expression in a value, however deep. */
export function expressionsIn(value: unknown): string[] {
  if (typeof value === 'string') return [...value.matchAll(templatePattern)].map((m) => m[1]!);
  if (Array.isArray(value)) return value.flatMap(expressionsIn);
  if (value && typeof value === 'object') return Object.values(value).flatMap(expressionsIn);
  return [];
}

/** A `${{` that no `}}` closes (or that holds a `}`), which would otherwise pass through as literal text. */
export function unclosedTemplate(text: string): string | undefined {
  const template = new RegExp(templatePattern.source, 'y');
  for (let at = text.indexOf('${{'); at >= 0; at = text.indexOf('${{', template.lastIndex)) {
    template.lastIndex = at;
    if (!template.test(text)) {
      const piece = text.slice(at, at + 40);
      return `"${piece}${at + piece.length < text.length ? '...' : ''}": a \${{ without its closing }}`;
    }
  }
  return undefined;
}

export function checkExpression(expression: string, names: TemplateNames): string | undefined {
  if (!pathPattern.test(expression)) return `"${expression}" is not a name; write e.g. params.grace or target.name`;
  const [root, ...rest] = expression.split('.');
  switch (root) {
    case 'params':
      if (rest.length !== 1) return `"${expression}": write params.<name>`;
      return names.params.has(rest[0]!) ? undefined : `unknown parameter "${rest[0]}" (declare it under params)`;
    case 'target':
      if (rest.length !== 1 || !(targetFields as readonly string[]).includes(rest[0]!)) {
        return `"${expression}": target has ${targetFields.join(', ')}`;
      }
      return undefined;
    case 'run':
      if (rest.length !== 1 || !(runFields as readonly string[]).includes(rest[0]!)) {
        return `"${expression}": run has ${runFields.join(', ')}`;
      }
      return undefined;
    case 'incident':
    case 'now':
      return rest.length === 0 ? undefined : `"${expression}": ${root} has no fields`;
    case 'steps': {
      const [id, outputs, key] = rest;
      if (!id || outputs !== 'outputs' || !key || rest.length !== 3)
        return `"${expression}": write steps.<id>.outputs.<name>`;
      if (!names.steps.has(id)) return `unknown step "${id}" (only steps that run earlier can be read)`;
      const declared = names.steps.get(id);
      if (declared && !declared.includes(key)) {
        return `step "${id}" has no output "${key}"${declared.length ? ` (it has ${declared.join(', ')})` : ''}`;
      }
      return undefined;
    }
    default:
      return `unknown name "${root}"; templates can read params, target, steps, incident, now, run`;
  }
}

function lookup(expression: string, scope: TemplateScope): unknown {
  let value: unknown = scope;
  for (const part of expression.split('.')) {
    // Own properties only: `constructor` or `__proto__` must never resolve to something.
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function asText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map(asText).join(',');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * Fill in templates. A string that is one template and nothing else takes the value as it is
 * (a list stays a list); templates inside longer text are rendered as text.
 */
export function renderTemplates(value: unknown, scope: TemplateScope): unknown {
  if (typeof value === 'string') {
    const whole = wholePattern.exec(value);
    if (whole) return lookup(whole[1]!, scope);
    return value.replace(templatePattern, (_, expression: string) => asText(lookup(expression, scope)));
  }
  if (Array.isArray(value)) return value.map((item) => renderTemplates(item, scope));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderTemplates(v, scope)]));
  }
  return value;
}
