import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import { UsageError } from '../errors.js';

export interface ParsedYaml {
  value: unknown;
  /** "file:line:col" of the node at a path, or of the nearest parent that exists. */
  locate(path: readonly PropertyKey[]): string;
}

export function parseYaml(text: string, file: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const problem = doc.errors[0];
  if (problem) {
    const at = problem.linePos?.[0] ?? lineCounter.linePos(problem.pos[0]);
    const where = at ? `${file}:${at.line}:${at.col}` : file;
    throw new UsageError(`${where}: not valid YAML: ${problem.message.split('\n')[0]}`);
  }
  return {
    value: doc.toJS(),
    locate: (path) => `${file}:${lineOf(doc, lineCounter, path)}`,
  };
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
