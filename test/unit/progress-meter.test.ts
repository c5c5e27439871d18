// Live progress of long steps: the meter's lines and the sink wrapper that feeds it.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { TransferMeter } from '../../src/cli/progress.js';
import { countStreamed } from '../../src/engine/progress.js';
import type { ArtifactSink } from '../../src/steps/types.js';

describe('live progress', () => {
  it('shows bytes so far, rate and elapsed time at most once per interval', () => {
    let now = 1_000;
    const meter = new TransferMeter(5_000, () => now);
    meter.start('export (evidence.export)');
    now += 1_000;
    expect(meter.add(1024 * 1024)).toBeUndefined();
    now += 4_000;
    expect(meter.add(9 * 1024 * 1024)).toBe('export (evidence.export): 10.0 MiB so far, 2.0 MiB/s, 5.00s');
    now += 100;
    expect(meter.add(1)).toBeUndefined();
    meter.start('backup (volume.backup)');
    now += 5_000;
    expect(meter.add(512)).toBe('backup (volume.backup): 512 B so far, 102 B/s, 5.00s');
  });

  it('counts every streamed byte and hands the store the same bytes, and errors too', async () => {
    const stored: Buffer[] = [];
    const sink: ArtifactSink = {
      file: async () => ({ path: '', size: 0, sha256: '' }),
      json: async () => ({ path: '', size: 0, sha256: '' }),
      stream: async (name, source) => {
        for await (const chunk of source) stored.push(chunk as Buffer);
        return { path: name, size: 0, sha256: '' };
      },
    };
    let counted = 0;
    const hooks = { stepStarted: () => {}, stepFinished: () => {}, bytes: (n: number) => (counted += n) };
    await countStreamed(sink, hooks).stream('a.tar', Readable.from([Buffer.alloc(3000), Buffer.alloc(5)]));
    expect(counted).toBe(3005);
    expect(Buffer.concat(stored).length).toBe(3005);

    const failing = new Readable({
      read() {
        this.destroy(new Error('engine went away'));
      },
    });
    await expect(countStreamed(sink, hooks).stream('b.tar', failing)).rejects.toThrow('engine went away');
    // Without a listener (--json) nothing is wrapped.
    expect(countStreamed(sink, { stepStarted: () => {}, stepFinished: () => {} })).toBe(sink);
  });
});
