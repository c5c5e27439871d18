// schemas/: every file is a valid draft 2020-12 schema of one document kind, and src/ emits that kind.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { statusWords } from '../../src/cli/json.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const schemaDir = join(root, 'schemas');
const schemaFiles = readdirSync(schemaDir).filter((name) => name.endsWith('.json'));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

/** Kinds that are not a command's result: watch's NDJSON lines, a fleet run's incident index file. */
const notResults = ['watch-event', 'incident-index'];

describe('the JSON Schemas in schemas/', () => {
  it('are named <kind>.v1.json and there is at least the run, verify and error kind', () => {
    for (const name of schemaFiles) expect(name).toMatch(/^[a-z][a-z0-9-]*\.v1\.json$/);
    expect(schemaFiles).toEqual(expect.arrayContaining(['run.v1.json', 'verify.v1.json', 'error.v1.json']));
  });

  it.each(schemaFiles)('%s compiles in strict draft 2020-12 and requires schema and status', (name) => {
    const schema = JSON.parse(readFileSync(join(schemaDir, name), 'utf8'));
    const kind = name.replace(/\.v1\.json$/, '');
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.properties.schema).toEqual({ const: `firebreak.${kind}/v1` });
    // A command's result has a status; a line of a stream or a file beside the bundles need not.
    const required = notResults.includes(kind) ? ['schema'] : ['schema', 'status'];
    expect(schema.required).toEqual(expect.arrayContaining(required));
    const validate = new Ajv2020({ strict: true, allErrors: true }).compile(schema);
    // A document of another kind must not pass: the schema tests something.
    expect(validate({ schema: 'firebreak.other/v1', status: 'succeeded' })).toBe(false);
  });

  it('every status word a schema allows belongs to the one vocabulary of src/cli/json.ts', () => {
    const words = new Set<string>();
    const collect = (node: unknown, underStatus: boolean): void => {
      if (Array.isArray(node)) return node.forEach((n) => collect(n, underStatus));
      if (!node || typeof node !== 'object') return;
      for (const [key, value] of Object.entries(node)) {
        if (underStatus && key === 'enum') (value as string[]).forEach((w) => words.add(w));
        if (underStatus && key === 'const' && typeof value === 'string') words.add(value);
        collect(value, key === 'status' || (underStatus && key !== 'properties'));
      }
    };
    for (const name of schemaFiles) {
      const schema = JSON.parse(readFileSync(join(schemaDir, name), 'utf8'));
      collect(schema.properties, false);
      collect(schema.$defs ?? {}, false);
    }
    expect([...words].filter((w) => !(statusWords as readonly string[]).includes(w))).toEqual([]);
    expect(words.size).toBeGreaterThan(2);
  });

  it('every schema kind is one that src/ writes, as schemaId(kind) or as firebreak.<kind>/v1', () => {
    const sources = sourceFiles(join(root, 'src')).map((file) => readFileSync(file, 'utf8'));
    const unused = schemaFiles
      .map((name) => name.replace(/\.v1\.json$/, ''))
      .filter(
        (kind) =>
          !sources.some(
            (text) =>
              text.includes(`firebreak.${kind}/v1`) || new RegExp(`(schemaId|jsonDocument)\\(\\s*'${kind}'`).test(text),
          ),
      );
    expect(unused, `schemas no command writes (in ${relative(root, schemaDir)})`).toEqual([]);
  });
});
