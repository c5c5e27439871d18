import { isAlias, isNode, LineCounter, parseDocument, visit, type Document } from 'yaml';
import { UsageError } from '../errors.js';

/**
 * How many times aliases may copy an anchored value. A playbook may share one retry policy among
 * a few steps; past this, ten lines of nested aliases (a "billion laughs") expand into millions of nodes.
 */
export const maxAliasCount = 100;

export interface ParsedYaml {
  value: unknown;
  /** "file:line:col" of the node at a path, or of the nearest parent that exists. */
  locate(path: readonly PropertyKey[]): string;
}

export function parseYaml(text: string, file: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const at = (offset: number) => {
    const pos = lineCounter.linePos(offset);
    return `${file}:${pos.line}:${pos.col}`;
  };
  let doc: Document;
  try {
    doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  } catch (error) {
    // The parser recurses per level of nesting: ten thousand `[` overflow its stack.
    if (error instanceof RangeError)
      throw new UsageError(`${file}: not a usable playbook: nested too deeply for a YAML parser`);
    throw error;
  }
  const problem = doc.errors[0];
  if (problem) {
    const pos = problem.linePos?.[0] ?? lineCounter.linePos(problem.pos[0]);
    throw new UsageError(
      `${file}:${pos.line}:${pos.col}: not valid YAML: ${yamlProblem(problem.code, problem.message)}`,
    );
  }
  checkAliases(doc, at);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount });
  } catch (error) {
    // The yaml package throws a bare ReferenceError for an alias bomb; it is still bad input.
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(
      /alias count/i.test(message)
        ? `${file}: not a usable playbook: its YAML aliases copy values more than ${maxAliasCount} times (an alias bomb?); write the values out`
        : `${file}: not valid YAML: ${message.split('\n')[0]}`,
    );
  }
  return { value, locate: (path) => `${file}:${lineOf(doc, lineCounter, path)}` };
}

/** The parser's message, less its advice to programmers. */
function yamlProblem(code: string, message: string): string {
  if (code === 'MULTIPLE_DOCS') return 'more than one YAML document (a second ---): a playbook is one document';
  if (/Maximum call stack/.test(message)) return 'nested too deeply for a YAML parser';
  return message.split('\n')[0]!;
}

/**
 * An alias must follow its anchor, as the yaml package resolves them, and must not sit inside it:
 * `&a [*a]` makes a value that contains itself, which nothing after the parser can walk.
 */
function checkAliases(doc: Document, at: (offset: number) => string): void {
  const anchors = new Set<string>();
  visit(doc, {
    Node: (_key, node, ancestors) => {
      if (isAlias(node)) {
        const where = node.range ? at(node.range[0]) : at(0);
        if (!anchors.has(node.source)) {
          throw new UsageError(
            `${where}: not valid YAML: alias *${node.source} has no anchor &${node.source} before it`,
          );
        }
        if (ancestors.some((parent) => isNode(parent) && parent.anchor === node.source)) {
          throw new UsageError(
            `${where}: not valid YAML: alias *${node.source} is inside its own anchor &${node.source}`,
          );
        }
      } else if (node.anchor) {
        anchors.add(node.anchor);
      }
    },
  });
}

function lineOf(doc: Document, lineCounter: LineCounter, path: readonly PropertyKey[]): string {
  for (let length = path.length; length >= 0; length--) {
    const node = doc.getIn(path.slice(0, length) as unknown[], true);
    if (isNode(node) && node.range) {
      const pos = lineCounter.linePos(node.range[0]);
      return `${pos.line}:${pos.col}`;
    }
  }
  return '1:1';
}

/** steps[1].with.keep — the path people see in messages. */
export function formatYamlPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, key) => {
    if (typeof key === 'number') return `${text}[${key}]`;
    return text ? `${text}.${String(key)}` : String(key);
  }, '');
}
