import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Target } from '../docker/index.js';
import { entryName } from '../evidence/naming.js';
import type { EvidenceStore } from '../evidence/store.js';
import { TailKeeper, reportDocuments, reportLogs, type TargetEvidence } from '../report/sources.js';
import type { ArtifactRef, ArtifactSink } from '../steps/types.js';

/** A step's view of the bundle: its files land under data/targets/<container name>/. */
export function artifactSink(
  store: EvidenceStore,
  target: Target,
  stored: (ref: ArtifactRef) => void = () => {},
): ArtifactSink {
  const folder = `targets/${entryName(target.name)}`;
  const told = (ref: ArtifactRef) => {
    stored(ref);
    return ref;
  };
  return {
    file: (name: string, data: string | Buffer) => store.addFile(`${folder}/${name}`, data).then(told),
    json: (name: string, value: unknown) =>
      store.addFile(`${folder}/${name}`, `${JSON.stringify(value, null, 2)}\n`).then(told),
    stream: (name: string, source: Readable, size?: number) =>
      store.addStream(`${folder}/${name}`, source, size === undefined ? undefined : { size }).then(told),
  };
}

/**
 * Keeps what report.md reads of a target's evidence (sources.ts) as the steps store it, once it
 * is safely stored: the small JSON documents whole, the logs by their tails, as they stream
 * through. So report.md needs no read of the half-written tar and no change to any step.
 */
export function keepReportSources(sink: ArtifactSink, evidence: TargetEvidence): ArtifactSink {
  return {
    ...sink,
    json: async (name, value) => {
      const ref = await sink.json(name, value);
      const key = reportDocuments[name];
      if (key) evidence[key] = value;
      return ref;
    },
    stream: async (name, source, size) => {
      const key = reportLogs[name];
      if (!key) return sink.stream(name, source, size);
      const tail = new TailKeeper();
      const tap = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          tail.add(chunk);
          done(null, chunk);
        },
      });
      // The store reads the tap; an error of the source reaches it through the tap, and a store
      // that stops reading ends the source, so the pipeline's own promise only needs quieting.
      pipeline(source, tap).catch(() => {});
      const ref = await sink.stream(name, tap, size);
      evidence[key] = tail.text();
      return ref;
    },
  };
}
