import type { Readable } from 'node:stream';
import type { Target } from '../docker/index.js';
import { entryName } from '../evidence/naming.js';
import type { EvidenceStore } from '../evidence/store.js';
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
