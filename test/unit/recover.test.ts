// `bundle recover` on partial bundles made the way a hard exit makes them: a real bundle written by
// BundleWriter, cut at an offset, with a spool file and a journal beside it. The project's own
// verify is the judge, and the original bundle's manifest says what each kept entry must hash to.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { constants, gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { BundleWriter } from '../../src/evidence/bundle.js';
import { parseManifest } from '../../src/evidence/manifest.js';
import { readBundleEntries } from '../../src/evidence/reader.js';
import { parseBundleName, recoverDebris } from '../../src/evidence/recover.js';
import { verifyBundle } from '../../src/evidence/verify.js';
import { useTempDirs } from './temp-dirs.js';

const tempDir = useTempDirs('firebreak-recover-');

const STARTED = new Date('2025-03-04T05:06:07.000Z');
const INSPECT = { Id: 'c0ffee'.repeat(10) + 'abcd', Name: '/web-1', Config: { Image: 'shop/web:1.2' } };
const FILESYSTEM = randomBytes(3 * 1024 * 1024 + 123);

interface Original {
  path: string;
  bundle: string;
  /** Payload path (data/...) -> sha256, from the finished bundle's own manifest. */
  hashes: Map<string, string>;
  /** Payload entries with the tar offsets GNU tar reports: where the header starts and the data ends. */
  entries: Array<{ path: string; header: number; end: number }>;
  /** The uncompressed tar. */
  tar: Buffer;
}

/** A finished bundle as a run would have written it, up to the point of dying. */
async function writeOriginal(compression: 'gzip' | 'none'): Promise<Original> {
  const dir = await tempDir();
  const incident = `INC-${randomBytes(3).toString('hex')}`;
  const writer = await BundleWriter.open({
    dir,
    playbook: 'forensics',
    incident,
    compression,
    startedAt: STARTED,
    bagInfo: {},
  });
  await writer.addFile('targets/web-1/inspect.json', JSON.stringify(INSPECT));
  await writer.addFile('targets/web-1/top.json', JSON.stringify({ Processes: [['1', 'sleep']] }));
  await writer.addStream(
    'targets/web-1/logs.stdout.log',
    Readable.from(Array.from({ length: 2000 }, (_, i) => Buffer.from(`line ${i}\n`))),
  );
  await writer.addStream('targets/web-1/filesystem.tar', Readable.from([FILESYSTEM]), { size: FILESYSTEM.length });
  await writer.addFile('targets/web-1/diff.json', '[]\n');
  const done = await writer.finalize();
  const entries = tarOffsets(done.path);
  expect(entries.map((e) => e.path)).toEqual([
    'data/targets/web-1/inspect.json',
    'data/targets/web-1/top.json',
    'data/targets/web-1/logs.stdout.log',
    'data/targets/web-1/filesystem.tar',
    'data/targets/web-1/diff.json',
  ]);
  const manifest = (await readBundleEntries(done.path, (rel) => rel === 'manifest-sha256.txt')).get(
    'manifest-sha256.txt',
  )!;
  const raw = await readFile(done.path);
  const tarBytes = compression === 'gzip' ? gunzipSync(raw) : raw;
  return {
    path: done.path,
    bundle: basename(done.path),
    hashes: parseManifest(manifest.toString('utf8'), 'manifest').entries,
    entries,
    tar: tarBytes,
  };
}

/** Each payload entry's offsets as GNU tar lists them (`-R` prints the block number of each header). */
function tarOffsets(path: string): Original['entries'] {
  const listing = execFileSync('tar', ['-tvRf', path], { encoding: 'utf8' });
  return listing
    .split('\n')
    .map((line) => /^block (\d+): \S+ \S+\s+(\d+) \S+ \S+ [^/]+\/(.+)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && m[3]!.startsWith('data/'))
    .map((m) => ({ path: m[3]!, header: Number(m[1]) * 512, end: Number(m[1]) * 512 + 512 + Number(m[2]) }));
}

const JOURNAL_LINES = [
  {
    level: 30,
    time: '2025-03-04T05:06:07.100Z',
    run: 'run-1234',
    incident: 'INC-42',
    playbook: 'forensics',
    params: { export: true },
    targets: ['web-1'],
    operator: { user: 'alice', host: 'bastion' },
    msg: 'run started',
  },
  {
    level: 30,
    time: '2025-03-04T05:06:07.200Z',
    run: 'run-1234',
    incident: 'INC-42',
    target: 'web-1',
    step: 'top',
    uses: 'evidence.top',
    status: 'succeeded',
    durationMs: 90,
    note: '1 process',
    msg: 'top succeeded',
  },
  {
    level: 40,
    time: '2025-03-04T05:06:07.300Z',
    run: 'run-1234',
    incident: 'INC-42',
    target: 'web-1',
    step: 'stats',
    uses: 'evidence.stats',
    attempt: 1,
    delayMs: 10,
    error: 'timeout',
    msg: 'retrying',
  },
  {
    level: 40,
    time: '2025-03-04T05:06:07.400Z',
    run: 'run-1234',
    incident: 'INC-42',
    target: 'web-1',
    step: 'stats',
    uses: 'evidence.stats',
    status: 'failed',
    durationMs: 150,
    error: 'engine said: timeout',
    msg: 'stats failed',
  },
];
// The hard exit cut the last line in half.
const JOURNAL = `${JOURNAL_LINES.map((l) => JSON.stringify(l)).join('\n')}\n{"level":30,"time":"2025-03-04T05:06:08`;
const SPOOL = randomBytes(300_000);

/** An evidence folder holding the first `cut` bytes of the bundle as its `.partial`, a spool file and a journal. */
async function debrisOf(
  original: Original,
  cut: number,
  extras = { partial: true, spool: true, journal: true },
): Promise<string> {
  const evidence = join(await tempDir(), 'evidence');
  await mkdir(evidence, { mode: 0o700 });
  const raw = await readFile(original.path);
  if (extras.partial)
    await writeFile(join(evidence, `${original.bundle}.partial`), raw.subarray(0, cut), { mode: 0o600 });
  if (extras.spool) await writeFile(join(evidence, `.${original.bundle}.spool-0a1b2c3d4e5f`), SPOOL, { mode: 0o600 });
  if (extras.journal) await writeFile(join(evidence, `.${original.bundle}.journal`), JOURNAL, { mode: 0o600 });
  return evidence;
}

/** How many tar bytes a gzip cut at `cut` still yields, by zlib on its own. */
function gunzippedLength(raw: Buffer, cut: number): number {
  return gunzipSync(raw.subarray(0, cut), { finishFlush: constants.Z_SYNC_FLUSH }).length;
}

async function recoveredManifest(path: string): Promise<Map<string, string>> {
  const manifest = (await readBundleEntries(path, (rel) => rel === 'manifest-sha256.txt')).get('manifest-sha256.txt')!;
  return parseManifest(manifest.toString('utf8'), 'manifest').entries;
}

async function runJson(path: string): Promise<any> {
  return JSON.parse(
    (await readBundleEntries(path, (rel) => rel === 'data/run.json')).get('data/run.json')!.toString('utf8'),
  );
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

describe('bundle recover on an uncompressed partial', () => {
  const exportEntry = (o: Original) => o.entries.find((e) => e.path.endsWith('filesystem.tar'))!;
  it.each([
    ['empty (the run died before its first write)', () => 0, 0],
    ['cut inside the header of the export', (o: Original) => exportEntry(o).header + 100, 3],
    ['cut in the middle of the export', (o: Original) => exportEntry(o).end - 1_000_000, 3],
    ['cut right after the export, before its padding', (o: Original) => exportEntry(o).end, 4],
    [
      'cut before the tag files, every payload entry whole',
      (o: Original) => Math.max(...o.entries.map((e) => e.end)),
      5,
    ],
  ])(
    'keeps every whole entry with its original hash, leaves the cut one out, and verifies: %s',
    async (_case, at, wholeCount) => {
      const original = await writeOriginal('none');
      const cut = at(original);
      const evidence = await debrisOf(original, cut);

      const [result] = await recoverDebris([], evidence);

      expect(result!.status, result!.message).toBe('recovered');
      const report = await verifyBundle(result!.path!);
      expect(report.problems).toEqual([]);
      const manifest = await recoveredManifest(result!.path!);
      const whole = original.entries.filter((e) => e.end <= cut);
      for (const entry of original.entries) {
        if (whole.includes(entry)) expect(manifest.get(entry.path), entry.path).toBe(original.hashes.get(entry.path));
        else expect(manifest.has(entry.path), `${entry.path} is cut off and must be left out`).toBe(false);
      }
      expect(whole).toHaveLength(wholeCount);
      expect(result!.entriesKept).toBe(whole.length);
      // The bytes of an entry cut in its body are kept apart, flagged, never under the entry's own path.
      const cutEntry = original.entries.find((e) => e.header + 512 < cut && e.end > cut);
      if (cutEntry) {
        expect(result!.entriesCutOff.map((c) => c.name)).toEqual([
          `${original.bundle.replace(/\.tar$/, '')}/${cutEntry.path}`,
        ]);
        const keptAs = cutEntry.path.replace(/^data\//, 'data/recovered/cut-off/');
        expect(manifest.get(keptAs)).toBe(sha256(original.tar.subarray(cutEntry.header + 512, cut)));
        const listed = (await runJson(result!.path!)).artifacts.find(
          (a: { path: string }) => `data/${a.path}` === keptAs,
        );
        expect(listed.incomplete).toMatch(
          /^cut off by the hard exit: the first \d+ of \d+ bytes; it was meant to be data\/targets\/web-1\/filesystem.tar$/,
        );
      } else {
        expect([...manifest.keys()].filter((p) => p.includes('cut-off'))).toEqual([]);
      }
      const run = await runJson(result!.path!);
      expect(run.status).toBe('aborted');
      expect(run.recovered.entriesKept).toBe(whole.length);
      // The debris is gone, and only the finished bundle and its sidecar are left.
      expect((await readdir(evidence)).sort()).toEqual([original.bundle, `${original.bundle}.sha256`]);
    },
  );

  it("never reads what follows a direct entry's unwritten header as entries, even when that content is a tar", async () => {
    const original = await writeOriginal('none');
    const before = original.entries.find((e) => e.path.endsWith('filesystem.tar'))!.header;
    // A direct entry starts with a zeroed header; a filesystem export is itself a tar.
    const inner = await tarOf({ 'etc/passwd': 'root:x:0:0::/root:/bin/sh\n', 'data/run.json': '{"forged":true}' });
    const evidence = await debrisOf(original, 0, { partial: true, spool: false, journal: false });
    await writeFile(
      join(evidence, `${original.bundle}.partial`),
      Buffer.concat([original.tar.subarray(0, before), Buffer.alloc(512), inner]),
    );

    const [result] = await recoverDebris([], evidence);

    expect(result!.status, result!.message).toBe('recovered');
    expect((await verifyBundle(result!.path!)).ok).toBe(true);
    const manifest = await recoveredManifest(result!.path!);
    const keptAs = `data/recovered/cut-off/unnamed-at-tar-byte-${before + 512}`;
    expect([...manifest.keys()].sort()).toEqual(
      ['data/run.json', keptAs, ...original.entries.filter((e) => e.end <= before).map((e) => e.path)].sort(),
    );
    expect(manifest.get(keptAs)).toBe(sha256(inner));
    expect(result!.entriesCutOff).toEqual([
      expect.objectContaining({
        present: inner.length,
        keptAs,
        reason: expect.stringMatching(/header was never written/),
      }),
    ]);
    expect((await runJson(result!.path!)).forged).toBeUndefined();
  });
});

describe('bundle recover on a gzip partial', () => {
  it.each([
    ['cut inside the first gzip header', () => 5, 0],
    ['cut in the middle of a gzip member, inside the export', (raw: Buffer) => Math.floor(raw.length / 2), 3],
    ["cut in the last member's trailer", (raw: Buffer) => raw.length - 3, 5],
  ])(
    'keeps the entries the gzip stream still yields whole, with their original hashes: %s',
    async (_case, at, wholeCount) => {
      const original = await writeOriginal('gzip');
      const raw = await readFile(original.path);
      const cut = at(raw);
      const evidence = await debrisOf(original, cut);
      const available = gunzippedLength(raw, cut);

      const [result] = await recoverDebris([], evidence);

      expect(result!.status, result!.message).toBe('recovered');
      expect((await verifyBundle(result!.path!)).problems).toEqual([]);
      const manifest = await recoveredManifest(result!.path!);
      const whole = original.entries.filter((e) => e.end <= available);
      expect(whole).toHaveLength(wholeCount);
      for (const entry of original.entries) {
        if (whole.includes(entry)) expect(manifest.get(entry.path), entry.path).toBe(original.hashes.get(entry.path));
        else expect(manifest.has(entry.path), `${entry.path} must be left out`).toBe(false);
      }
      expect(result!.entriesKept).toBe(whole.length);
      const cutEntry = original.entries.find((e) => e.header + 512 < available && e.end > available);
      const keptAs = cutEntry?.path.replace(/^data\//, 'data/recovered/cut-off/');
      if (wholeCount === 3) expect(cutEntry?.path).toBe('data/targets/web-1/filesystem.tar');
      if (cutEntry) expect(manifest.get(keptAs!)).toBe(sha256(original.tar.subarray(cutEntry.header + 512, available)));
      expect(result!.path!.endsWith('.tar.gz')).toBe(true);
      expect((await readdir(evidence)).sort()).toEqual([original.bundle, `${original.bundle}.sha256`]);
    },
  );
});

describe('what a recovered bundle says', () => {
  it('holds the spool file and the journal, and a run.json built from the journal and the kept inspect.json', async () => {
    const original = await writeOriginal('none');
    const evidence = await debrisOf(
      original,
      original.entries.find((e) => e.path.endsWith('filesystem.tar'))!.header + 2048,
    );

    const [result] = await recoverDebris([], evidence);

    expect(result!.status, result!.message).toBe('recovered');
    const files = await readBundleEntries(
      result!.path!,
      (rel) => rel.startsWith('data/recovered/') || rel === 'data/journal.ndjson',
    );
    expect(sha256(files.get('data/recovered/spool-0a1b2c3d4e5f')!)).toBe(sha256(SPOOL));
    expect(files.get('data/journal.ndjson')!.toString('utf8')).toBe(JOURNAL);
    const run = await runJson(result!.path!);
    expect(run).toMatchObject({
      schema: 'firebreak.run/v1',
      runId: 'run-1234',
      incident: 'INC-42',
      status: 'aborted',
      playbook: { name: 'forensics' },
      params: { export: true },
      operator: { user: 'alice', host: 'bastion' },
    });
    expect(run.targets).toEqual([
      expect.objectContaining({
        id: INSPECT.Id,
        name: 'web-1',
        image: 'shop/web:1.2',
        status: 'aborted',
        steps: [
          expect.objectContaining({
            id: 'top',
            uses: 'evidence.top',
            status: 'succeeded',
            attempts: 1,
            note: '1 process',
          }),
          expect.objectContaining({
            id: 'stats',
            status: 'failed',
            attempts: 2,
            error: 'engine said: timeout',
            durationMs: 150,
          }),
        ],
      }),
    ]);
    const spool = run.artifacts.find((a: { path: string }) => a.path === 'recovered/spool-0a1b2c3d4e5f');
    expect(spool).toMatchObject({ size: SPOOL.length, sha256: sha256(SPOOL) });
    expect(spool.incomplete).toMatch(/may have been cut off/);
    expect(run.recovered).toMatchObject({
      entriesKept: result!.entriesKept,
      journal: { lines: 5, unreadableLines: 1 },
      spools: [{ path: 'data/recovered/spool-0a1b2c3d4e5f', size: SPOOL.length }],
    });
    expect(run.recovered.entriesCutOff).toEqual([
      expect.objectContaining({ name: expect.stringMatching(/filesystem\.tar$/), present: 1536 }),
    ]);
    expect(run.recovered.from.sort()).toEqual(
      [`${original.bundle}.partial`, `.${original.bundle}.journal`, `.${original.bundle}.spool-0a1b2c3d4e5f`].sort(),
    );
  });

  it('flags whole entries the journal casts doubt on: a streamed artifact of a step that aborted, a hash that differs', async () => {
    const original = await writeOriginal('none');
    const evidence = await debrisOf(original, Math.max(...original.entries.map((e) => e.end)), {
      partial: true,
      spool: false,
      journal: false,
    });
    const line = (fields: object) =>
      JSON.stringify({ level: 30, time: '2025-03-04T05:06:09.000Z', run: 'run-1234', ...fields });
    const top = original.hashes.get('data/targets/web-1/top.json');
    await writeFile(
      join(evidence, `.${original.bundle}.journal`),
      [
        line({ msg: 'artifact', artifact: 'targets/web-1/top.json', size: 27, sha256: top }),
        line({ msg: 'artifact', artifact: 'targets/web-1/inspect.json', size: 1, sha256: 'f'.repeat(64) }),
        line({ target: 'web-1', step: 'logs', uses: 'evidence.logs', status: 'succeeded', msg: 'logs succeeded' }),
        line({ target: 'web-1', step: 'export', uses: 'evidence.export', status: 'aborted', msg: 'export aborted' }),
      ].join('\n'),
    );

    const [result] = await recoverDebris([], evidence);

    expect(result!.status, result!.message).toBe('recovered');
    const doubts = Object.fromEntries(
      (await runJson(result!.path!)).artifacts.map((a: { path: string; incomplete?: string }) => [
        a.path,
        a.incomplete,
      ]),
    );
    expect(doubts['targets/web-1/filesystem.tar']).toMatch(/step export \(evidence.export\), which ended aborted/);
    expect(doubts['targets/web-1/inspect.json']).toMatch(/the run logged sha256 f{64}/);
    expect(doubts['targets/web-1/top.json']).toBeUndefined();
    expect(doubts['targets/web-1/logs.stdout.log']).toBeUndefined();
    expect(doubts['targets/web-1/diff.json']).toBeUndefined();
  });

  it('makes a bundle of a journal alone, when the run died before its partial held anything', async () => {
    const original = await writeOriginal('gzip');
    const evidence = await debrisOf(original, 0, { partial: false, spool: false, journal: true });

    const [result] = await recoverDebris([join(evidence, `.${original.bundle}.journal`)], evidence);

    expect(result!.status, result!.message).toBe('recovered');
    expect((await verifyBundle(result!.path!)).ok).toBe(true);
    expect((await runJson(result!.path!)).targets[0].steps).toHaveLength(2);
    expect((await readdir(evidence)).sort()).toEqual([original.bundle, `${original.bundle}.sha256`]);
  });

  it('finishes a partial that was already a whole bundle under its own name, keeping its run.json', async () => {
    const dir = await tempDir();
    const writer = await BundleWriter.open({
      dir,
      playbook: 'isolate',
      incident: 'INC-7',
      compression: 'gzip',
      startedAt: STARTED,
      bagInfo: {},
    });
    await writer.addFile('run.json', JSON.stringify({ schema: 'firebreak.run/v1', status: 'succeeded' }));
    const done = await writer.finalize();
    const evidence = join(dir, 'evidence');
    await mkdir(evidence);
    await writeFile(join(evidence, `${basename(done.path)}.partial`), await readFile(done.path));

    const [result] = await recoverDebris([], evidence);

    expect(result!.status, result!.message).toBe('finalised');
    expect(result!.sha256).toBe(done.sha256);
    expect((await verifyBundle(result!.path!)).sidecar).toMatchObject({ present: true, ok: true });
    expect((await readdir(evidence)).sort()).toEqual([basename(done.path), `${basename(done.path)}.sha256`].sort());
  });
});

describe('what bundle recover leaves alone', () => {
  it('gives the recovered bundle a numbered name when its own is taken, and leaves the other file untouched', async () => {
    const original = await writeOriginal('none');
    const evidence = await debrisOf(original, 4096);
    await writeFile(join(evidence, original.bundle), "someone else's file");

    const [result] = await recoverDebris([], evidence);

    expect(result!.status, result!.message).toBe('recovered');
    const named = parseBundleName(original.bundle)!;
    expect(basename(result!.path!)).toBe(original.bundle.replace(`_${named.incident}.tar`, `_${named.incident}-2.tar`));
    expect(await readFile(join(evidence, original.bundle), 'utf8')).toBe("someone else's file");
    expect((await verifyBundle(result!.path!)).ok).toBe(true);
  });

  it('removes nothing when the recovered bundle cannot be written', async () => {
    const original = await writeOriginal('none');
    const evidence = await debrisOf(original, 4096);
    const named = parseBundleName(original.bundle)!;
    // Every name the recovered bundle could take is taken.
    await writeFile(join(evidence, original.bundle), 'x');
    for (let n = 2; n <= 100; n++)
      await writeFile(
        join(evidence, original.bundle.replace(`_${named.incident}.tar`, `_${named.incident}-${n}.tar`)),
        'x',
      );
    const before = (await readdir(evidence)).sort();

    const [result] = await recoverDebris([], evidence);

    expect(result!.status).toBe('failed');
    expect(result!.removed).toEqual([]);
    expect((await readdir(evidence)).sort()).toEqual(before);
    expect((await stat(join(evidence, `.${original.bundle}.spool-0a1b2c3d4e5f`))).size).toBe(SPOOL.length);
  });

  it('refuses debris whose run marker names a live process, and recovers it once the marker names a dead one', async () => {
    const original = await writeOriginal('none');
    const evidence = await debrisOf(original, 4096);
    const marker = join(evidence, `.${original.bundle}.pid`);
    await writeFile(marker, JSON.stringify({ pid: process.pid, host: hostname() }));

    const [refused] = await recoverDebris([join(evidence, `${original.bundle}.partial`)], evidence);
    expect(refused).toMatchObject({ status: 'in-progress', requested: true });
    expect(refused!.message).toMatch(`process ${process.pid} is still running`);
    expect(await readdir(evidence)).toContain(`${original.bundle}.partial`);

    await writeFile(marker, JSON.stringify({ pid: deadPid(), host: hostname() }));
    const [result] = await recoverDebris([], evidence);
    expect(result!.status, result!.message).toBe('recovered');
    expect(result!.removed.map((r) => basename(r.path))).toContain(`.${original.bundle}.pid`);
    expect((await readdir(evidence)).sort()).toEqual([original.bundle, `${original.bundle}.sha256`]);
  });

  it('refuses what it is not: a finished bundle, a missing folder', async () => {
    const original = await writeOriginal('none');
    await expect(recoverDebris([original.path], '.')).rejects.toThrow(UsageError);
    await expect(recoverDebris([original.path], '.')).rejects.toThrow(/is not debris of a firebreak run/);
    await expect(recoverDebris([], join(await tempDir(), 'nowhere'))).rejects.toThrow(
      /evidence folder .* does not exist/,
    );
  });
});

/** A pid no process has: one that existed and has been reaped. */
function deadPid(): number {
  return Number(
    execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }),
  );
}

async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, body] of Object.entries(files)) pack.entry({ name }, body);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack as unknown as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}
