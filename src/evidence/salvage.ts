/**
 * What goes into a recovered bundle, in order: the whole `data/` entries of the `.partial`
 * (re-hashed as they are copied; run.json, which the new bundle writes itself, moves to
 * `recovered/run.json`), the bytes of its cut-off entry under `recovered/cut-off/`, each spool
 * file under `recovered/spool-<hex>`, the journal, and last a run.json that flags every artifact
 * that may hold less than it should.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { BundleWriter } from './bundle.js';
import type { DebrisFile, DebrisGroup } from './debris.js';
import { readPartialEntries, type CutEntry, type PartialScan } from './partial.js';
import { artifactDoubts, recoveredRunRecord, type JournalFacts, type RecoveryNote } from './recovered-run.js';
import type { RunRecord } from './record.js';

export interface Sources {
  group: DebrisGroup;
  named: { startedAt: Date; playbook: string; incident: string };
  partial?: DebrisFile;
  scan?: PartialScan;
  journal?: DebrisFile;
  facts?: JournalFacts;
}

const SPOOL_NOTE =
  'spooled when the run stopped: the stream may have been cut off there, and which artifact it was is not recorded';
// Entries up to this size are read whole, to look inside the few we parse (run.json, inspect.json).
const SMALL_ENTRY = 1024 * 1024;

export interface Salvaged {
  entriesKept: number;
  entriesCutOff: CutEntry[];
  spools: number;
  journal: boolean;
}

/** Copies everything the debris holds into `writer`, then a run.json that says where it all came from. */
export async function salvageInto(writer: BundleWriter, sources: Sources): Promise<Salvaged> {
  const { group, partial, scan, journal, facts } = sources;
  const note: RecoveryNote = {
    from: group.files.filter((f) => f.kind !== 'marker' && f.kind !== 'recovery').map((f) => f.name),
    at: new Date().toISOString(),
    entriesKept: 0,
    entriesCutOff: scan?.cutOff ? [scan.cutOff] : [],
    notCopied: [],
    spools: [],
    note: 'hashes were taken while this bundle was written from the debris: the run that died never wrote its manifest',
  };
  const found =
    partial && scan
      ? await copyPartial(writer, partial.path, scan, note)
      : { inspects: new Map(), original: undefined, cutOff: new Map<string, CutEntry>() };
  for (const spool of group.files.filter((f) => f.kind === 'spool')) {
    const path = `recovered/spool-${spool.name.slice(spool.name.lastIndexOf('.spool-') + 7)}`;
    await writer.addStream(path, createReadStream(spool.path), { size: spool.size });
    note.spools.push({ file: spool.name, path: `data/${path}`, size: spool.size });
  }
  if (journal && facts) {
    const taken = writer.artifacts().some((a) => a.path === 'journal.ndjson');
    const path = taken ? 'recovered/journal.ndjson' : 'journal.ndjson';
    await writer.addStream(path, createReadStream(journal.path), { size: journal.size });
    note.journal = {
      file: journal.name,
      path: `data/${path}`,
      lines: facts.lines,
      unreadableLines: facts.unreadableLines,
    };
  }
  const spooled = new Set(note.spools.map((s) => s.path.slice('data/'.length)));
  const doubts = artifactDoubts(facts, writer.artifacts());
  for (const artifact of Array.isArray(found.original?.artifacts) ? found.original.artifacts : []) {
    if (artifact?.incomplete) doubts.set(artifact.path, artifact.incomplete);
  }
  for (const [path, cut] of found.cutOff) {
    const meant = cut.name ? `it was meant to be ${cut.name.slice(cut.name.indexOf('/') + 1)}` : 'its name is unknown';
    const of = cut.size === undefined ? '' : ` of ${cut.size}`;
    doubts.set(path, `cut off by the hard exit: the first ${cut.present}${of} bytes; ${meant}`);
  }
  const artifacts = writer.artifacts().map(({ path, size, sha256, incomplete }) => {
    const why = incomplete ?? (spooled.has(path) ? SPOOL_NOTE : doubts.get(path));
    return { path, size, sha256, ...(why ? { incomplete: why } : {}) };
  });
  const newest = group.files.reduce((at, f) => (f.mtime > at ? f.mtime : at), new Date(0));
  const record = recoveredRunRecord({
    named: sources.named,
    facts,
    original: found.original,
    inspects: found.inspects,
    artifacts,
    lastActivity: newest,
    recovered: note,
  });
  await writer.addFile('run.json', `${JSON.stringify(record, null, 2)}\n`);
  return {
    entriesKept: note.entriesKept,
    entriesCutOff: note.entriesCutOff,
    spools: note.spools.length,
    journal: note.journal !== undefined,
  };
}

/** Copies the partial's whole `data/` entries; returns the inspect facts and any whole run.json met on the way. */
async function copyPartial(
  writer: BundleWriter,
  path: string,
  scan: PartialScan,
  note: RecoveryNote,
): Promise<{
  inspects: Map<string, { id?: string; image?: string }>;
  original?: Partial<RunRecord>;
  cutOff: Map<string, CutEntry>;
}> {
  const inspects = new Map<string, { id?: string; image?: string }>();
  const cutOff = new Map<string, CutEntry>();
  let original: Partial<RunRecord> | undefined;
  await readPartialEntries(
    path,
    scan,
    async (entry, body) => {
      const rel = entry.name.slice(entry.name.indexOf('/') + 1);
      const isFile = entry.type === '0' || entry.type === '\0' || entry.type === '7';
      if (!isFile || !rel.startsWith('data/') || entry.name.indexOf('/') < 1) {
        if (isFile || entry.type !== '5') note.notCopied.push(entry.name);
        return;
      }
      let dataRel = rel.slice('data/'.length);
      if (entry.size > SMALL_ENTRY) {
        await writer.addStream(dataRel, Readable.from(body), { size: entry.size });
      } else {
        const bytes = await readAll(body);
        if (dataRel === 'run.json') {
          original = parseJson(bytes) as Partial<RunRecord> | undefined;
          dataRel = 'recovered/run.json';
        }
        const inspect = /^targets\/([^/]+)\/inspect\.json$/.exec(dataRel);
        if (inspect) rememberInspect(inspects, inspect[1]!, parseJson(bytes));
        await writer.addFile(dataRel, bytes);
      }
      note.entriesKept++;
    },
    async (cut, body) => {
      // The bytes that made it, kept apart from the path the whole artifact would have had.
      const rel = cut.name?.slice(cut.name.indexOf('/') + 1);
      if (rel !== undefined && !rel.startsWith('data/')) return;
      const keptAs = `recovered/cut-off/${rel ? rel.slice('data/'.length) : `unnamed-at-tar-byte-${cut.dataOffset}`}`;
      await writer.addStream(keptAs, Readable.from(body), { size: cut.present });
      const listed = note.entriesCutOff.find(
        (c) => c === cut || (c.name === cut.name && c.dataOffset === cut.dataOffset),
      );
      if (listed) listed.keptAs = `data/${keptAs}`;
      cutOff.set(keptAs, cut);
    },
  );
  return { inspects, original, cutOff };
}

function rememberInspect(inspects: Map<string, { id?: string; image?: string }>, folder: string, doc: unknown): void {
  const d = doc as { Id?: unknown; Name?: unknown; Config?: { Image?: unknown } } | undefined;
  const name = typeof d?.Name === 'string' ? d.Name.replace(/^\//, '') : folder;
  inspects.set(name, {
    id: typeof d?.Id === 'string' ? d.Id : undefined,
    image: typeof d?.Config?.Image === 'string' ? d.Config.Image : undefined,
  });
}

async function readAll(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
