/**
 * The one shape of every `--json` document: `schema` names the kind and version
 * (`firebreak.<kind>/v1`, described by schemas/<kind>.v1.json), and `status` uses one vocabulary
 * for runs, targets, steps, expectations and checks alike. Errors are documents too.
 */

export const statusWords = ['succeeded', 'failed', 'aborted', 'skipped', 'planned', 'declined', 'warning'] as const;
export type Status = (typeof statusWords)[number];

export function schemaId(kind: string): string {
  return `firebreak.${kind}/v1`;
}

export type JsonDocument<T extends object> = { schema: string; status: Status } & Omit<T, 'schema' | 'status'>;

/** `schema` and `status` first, so a reader sees them before anything else. */
export function jsonDocument<T extends object>(kind: string, status: Status, body: T): JsonDocument<T> {
  return { schema: schemaId(kind), status, ...body } as JsonDocument<T>;
}

export interface ErrorDocument {
  schema: string;
  status: 'failed';
  exitCode: number;
  message: string;
  error: { type: string; message: string };
}

/** What --json prints when a command fails before it has a result: the exit code and the one-line message. */
export function errorDocument(error: Error, exitCode: number): ErrorDocument {
  return {
    schema: schemaId('error'),
    status: 'failed',
    exitCode,
    message: error.message,
    error: { type: error.name, message: error.message },
  };
}
