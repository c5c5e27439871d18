import { Transform, pipeline } from 'node:stream';
import type { Target } from '../docker/index.js';
import type { ArtifactSink } from '../steps/types.js';
import type { TargetRecord } from '../evidence/record.js';
import type { TargetHooks } from './runner.js';

/**
 * How targets are scheduled and shown. The engine decides what runs; a Progress decides how it
 * looks (listr2 on a terminal, lines in a log, nothing for --json) and runs up to `concurrency` at once.
 */
export interface Progress {
  runTargets(
    targets: readonly Target[],
    concurrency: number,
    work: (target: Target, hooks: TargetHooks) => Promise<TargetRecord>,
  ): Promise<TargetRecord[]>;
}

const quietHooks: TargetHooks = { stepStarted: () => {}, stepFinished: () => {} };

/** Runs `fn` over `items` with at most `limit` in flight, keeping the order of results. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

export const silentProgress: Progress = {
  runTargets: (targets, concurrency, work) => mapLimit(targets, concurrency, (target) => work(target, quietHooks)),
};

/**
 * Tells `hooks.bytes` every chunk a step streams into the bundle, so long steps show bytes so far
 * without any step knowing about progress. Errors of the source still reach the store: pipeline
 * destroys the counter with them.
 */
export function countStreamed(sink: ArtifactSink, hooks: TargetHooks): ArtifactSink {
  const bytes = hooks.bytes?.bind(hooks);
  if (!bytes) return sink;
  return {
    ...sink,
    stream: (name, source, size) => {
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          bytes(chunk.length);
          done(null, chunk);
        },
      });
      pipeline(source, counter, () => {});
      return sink.stream(name, counter, size);
    },
  };
}
