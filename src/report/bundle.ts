/**
 * A report rendered again from a finished bundle: run.json and the targets' inspect.json are read
 * in one pass over the tar, and the same model as at run time is built from them.
 */
import { VerifyError, messageOf } from '../errors.js';
import { readBundleEntries } from '../evidence/reader.js';
import { runRecordSchemaId, type RunRecord } from '../evidence/record.js';
import { buildReport, type ReportModel } from './model.js';

const RUN_JSON = 'data/run.json';
const INSPECT = /^data\/targets\/[^/]+\/inspect\.json$/;

export async function reportFromBundle(path: string): Promise<ReportModel> {
  const entries = await readBundleEntries(path, (rel) => rel === RUN_JSON || INSPECT.test(rel));
  const record = parseRunRecord(path, entries.get(RUN_JSON));
  return buildReport(record, inspectsByContainer(entries, record));
}

function parseRunRecord(path: string, body: Buffer | undefined): RunRecord {
  if (!body) throw new VerifyError(`bundle ${path} has no ${RUN_JSON}; is it a firebreak bundle?`);
  let record: Partial<RunRecord>;
  try {
    record = JSON.parse(body.toString('utf8')) as Partial<RunRecord>;
  } catch (error) {
    throw new VerifyError(
      `${RUN_JSON} in ${path} is not valid JSON: ${messageOf(error)}; run \`firebreak bundle verify ${path}\``,
      { cause: error },
    );
  }
  if (record?.schema !== runRecordSchemaId || !Array.isArray(record.targets) || !Array.isArray(record.artifacts)) {
    throw new VerifyError(
      `${RUN_JSON} in ${path} is not a ${runRecordSchemaId} run record (schema ${JSON.stringify(record?.schema)})`,
    );
  }
  return record as RunRecord;
}

/**
 * Matched by the document's own `Id`, not by folder name: the folder is a sanitised container
 * name, and the Id is what run.json records for each target. An unreadable inspect.json only
 * costs that container its findings; the rest of the report still renders.
 */
function inspectsByContainer(entries: ReadonlyMap<string, Buffer>, record: RunRecord): Map<string, unknown> {
  const ids = new Set(record.targets.map((t) => t.id));
  const found = new Map<string, unknown>();
  for (const [rel, body] of entries) {
    if (!INSPECT.test(rel)) continue;
    let doc: unknown;
    try {
      doc = JSON.parse(body.toString('utf8'));
    } catch {
      continue;
    }
    const id = (doc as { Id?: unknown } | null)?.Id;
    if (typeof id === 'string' && ids.has(id)) found.set(id, doc);
  }
  return found;
}
