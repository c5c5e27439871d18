import type { z } from 'zod';
import { EngineError } from '../errors.js';
import { excerpt, notAnEngine } from './errors.js';

/**
 * The shape check every JSON answer of the engine passes before anything above src/docker sees it.
 *
 * docker-modem parses a body as JSON and, when that gives nothing truthy, hands back the raw bytes:
 * an empty body, and also the JSON `null` the engine sends for the changes of an untouched
 * container, arrive as a Buffer. A Buffer saved as evidence reads `{"type":"Buffer",...}`, and a
 * Buffer counted as a list reads "0 processes": both lies. So each answer is read back to a JSON
 * value here, an empty one becomes the typed empty value the Engine API defines (if it defines
 * one), and the value is checked against a schema of the fields firebreak uses.
 */
export interface AnswerShape<S extends z.ZodType> {
  /** What the answer should be, for messages: "a process list". */
  noun: string;
  schema: S;
  /** The value an empty body or `null` stands for, where the Engine API defines one (changes: `[]`). */
  empty?: z.output<S>;
}

export function answer<S extends z.ZodType>(noun: string, schema: S, empty?: z.output<S>): AnswerShape<S> {
  return { noun, schema, ...(empty !== undefined ? { empty } : {}) };
}

export interface CheckedAnswer<T> {
  /** The answer as the schema reads it. */
  value: T;
  /** The answer as the engine sent it (a JSON value, never a Buffer), for evidence kept verbatim. */
  raw: unknown;
}

/**
 * Check one answer. `request` names it in messages ("GET /containers/web-1/top"); `endpoint` is the
 * engine's address, named when the body is not JSON at all, which no Docker engine sends.
 */
export function checkAnswer<S extends z.ZodType>(
  shape: AnswerShape<S>,
  body: unknown,
  request: string,
  endpoint?: string,
): CheckedAnswer<z.output<S>> {
  const json = readJson(body, request, endpoint);
  if (json === undefined || json === null) {
    if (shape.empty !== undefined) return { value: shape.empty, raw: shape.empty };
    const what = json === null ? 'null' : 'an empty body';
    throw shapeError(`${request} answered ${what}, not ${shape.noun}`);
  }
  const parsed = shape.schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
    throw shapeError(
      `${request} answered ${describe(json)}, not ${shape.noun}${issue ? ` (${issue.message}${at})` : ''}`,
    );
  }
  return { value: parsed.data, raw: json };
}

/** A body as a JSON value: undefined for an empty one. Text that is not JSON is not an engine's answer. */
export function readJson(body: unknown, request: string, endpoint?: string): unknown {
  if (!Buffer.isBuffer(body) && typeof body !== 'string') return body;
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : body;
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw notAnEngine(endpoint, `it answered ${request} with text, not JSON: ${excerpt(text)}`);
  }
}

function describe(json: unknown): string {
  if (Array.isArray(json)) return 'a list';
  if (typeof json === 'object') return 'an object';
  return `a ${typeof json}`;
}

/**
 * The engine answered, and the answer is wrong: an EngineError (exit 1, the step fails) that names
 * the request. Retried like any other, because an empty body can be a hiccup.
 */
function shapeError(message: string): EngineError {
  return new EngineError(message, undefined, message);
}
