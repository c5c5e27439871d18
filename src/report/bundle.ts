/**
 * A report rendered again from a finished bundle. The bundle is verified first (a report must not
 * call "succeeded" what `bundle verify` rejects); then run.json and each target's report sources
 * (sources.ts) are read in one pass over the tar, logs only by their tails.
 */
import { VerifyError, messageOf } from '../errors.js';
import { entryName } from '../evidence/naming.js';
import { readBody, walkBundle } from '../evidence/reader.js';
import { runRecordSchemaId, type RunRecord } from '../evidence/record.js';
import { verifyBundle } from '../evidence/verify.js';
import { buildReport, type ReportModel, type ReportVerification } from './model.js';
import { TailKeeper, reportDocuments, reportLogs, targetArtifact, type TargetEvidence } from './sources.js';

const RUN_JSON = 'data/run.json';

export async function reportFromBundle(path: string): Promise<ReportModel> {
  const verification = await verificationOf(path);
  const { runJson, documents, tails } = await readSources(path, verification);
  const record = parseRunRecord(path, runJson);
  return buildReport(record, evidenceByContainer(record, documents, tails), { bundle: path, verification });
}

async function verificationOf(path: string): Promise<ReportVerification> {
  const report = await verifyBundle(path);
  return { ok: report.ok, problems: report.problems };
}

interface Sources {
  runJson?: Buffer;
  /** By target folder, then file name. */
  documents: Map<string, Map<string, Buffer>>;
  tails: Map<string, Map<string, TailKeeper>>;
}

async function readSources(path: string, verification: ReportVerification): Promise<Sources> {
  const sources: Sources = { documents: new Map(), tails: new Map() };
  const inFolder = <T>(map: Map<string, Map<string, T>>, folder: string) =>
    map.get(folder) ?? map.set(folder, new Map()).get(folder)!;
  try {
    await walkBundle(path, async (entry) => {
      if (entry.type !== 'file') return;
      if (entry.rel === RUN_JSON) sources.runJson = await readBody(entry.body);
      const artifact = targetArtifact(entry.rel);
      if (!artifact) return;
      if (reportDocuments[artifact.file])
        inFolder(sources.documents, artifact.folder).set(artifact.file, await readBody(entry.body));
      if (reportLogs[artifact.file]) {
        const tail = new TailKeeper();
        for await (const chunk of entry.body) tail.add(chunk);
        inFolder(sources.tails, artifact.folder).set(artifact.file, tail);
      }
    });
  } catch (error) {
    // A damaged tar still gets a report of what could be read; the banner says what failed.
    if (!sources.runJson) {
      const found = verification.problems.length ? `; bundle verify found: ${verification.problems.join('; ')}` : '';
      throw new VerifyError(`cannot read bundle ${path}: ${messageOf(error)}${found}`, { cause: error });
    }
  }
  return sources;
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
 * Each target's files are found by its folder (the sanitised container name). The inspect
 * document must also carry the target's own `Id`: a folder name alone could be another
 * container's. An unreadable document only costs that container its section.
 */
function evidenceByContainer(
  record: RunRecord,
  documents: Sources['documents'],
  tails: Sources['tails'],
): Map<string, TargetEvidence> {
  const found = new Map<string, TargetEvidence>();
  for (const target of record.targets) {
    const folder = entryName(target.name);
    const evidence: TargetEvidence = {};
    for (const [file, body] of documents.get(folder) ?? []) {
      const doc = parseJson(body);
      if (doc !== undefined) evidence[reportDocuments[file]!] = doc;
    }
    if ((evidence.inspect as { Id?: unknown } | undefined)?.Id !== target.id) delete evidence.inspect;
    for (const [file, tail] of tails.get(folder) ?? []) evidence[reportLogs[file]!] = tail.text();
    found.set(target.id, evidence);
  }
  return found;
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
