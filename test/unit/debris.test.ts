// Finding what runs that did not finish left in an evidence folder, and telling it apart from a
// run that is still writing.
import { execFileSync, spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import {
  classifyDebris,
  createRunMarker,
  debrisWarning,
  debrisWarningFor,
  findDebris,
  removeRunMarker,
  runMarkerPath,
} from '../../src/evidence/debris.js';
import { useTempDirs } from './temp-dirs.js';

const tempDir = useTempDirs('firebreak-debris-');

const A = '20250304T050607Z_forensics_INC-1.tar.gz';
const B = '20250304T060000Z_isolate_INC_with_underscores.tar';

async function folderWith(files: Record<string, number>): Promise<string> {
  const dir = await tempDir();
  for (const [name, size] of Object.entries(files)) await writeFile(join(dir, name), Buffer.alloc(size));
  return dir;
}

/** A pid that no process has any more. */
function deadPid(): number {
  return Number(
    execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }),
  );
}

describe('findDebris', () => {
  it('groups partials, spool files and journals by the bundle they belong to, with sizes, and ignores everything else', async () => {
    const dir = await folderWith({
      [`${A}.partial`]: 1000,
      [`.${A}.spool-0a1b2c3d4e5f`]: 5000,
      [`.${A}.spool-ffeeddccbbaa`]: 7,
      [`.${A}.journal`]: 300,
      [`.${B}.journal`]: 40,
      // A finished bundle and its sidecar, and files that only look alike.
      '20250101T000000Z_isolate_INC-0.tar.gz': 10,
      '20250101T000000Z_isolate_INC-0.tar.gz.sha256': 10,
      'backup.tar.gz.partial': 10,
      [`.${A}.spool-notHex`]: 10,
      'notes.txt': 10,
    });

    const groups = await findDebris(dir);

    expect(groups.map((g) => g.bundle).sort()).toEqual([A, B].sort());
    const a = groups.find((g) => g.bundle === A)!;
    expect(a.size).toBe(6307);
    expect(a.files.map((f) => `${f.kind}:${f.name}`).sort()).toEqual(
      [
        `journal:.${A}.journal`,
        `partial:${A}.partial`,
        `spool:.${A}.spool-0a1b2c3d4e5f`,
        `spool:.${A}.spool-ffeeddccbbaa`,
      ].sort(),
    );
    expect(a.inProgress).toBeUndefined();
    expect(groups.find((g) => g.bundle === B)!.files.map((f) => f.kind)).toEqual(['journal']);
  });

  it('finds nothing in a folder that does not exist, and refuses a file given as the folder', async () => {
    const dir = await tempDir();
    expect(await findDebris(join(dir, 'missing'))).toEqual([]);
    await writeFile(join(dir, 'file'), 'x');
    await expect(findDebris(join(dir, 'file'))).rejects.toThrow(UsageError);
  });

  it('counts debris as in progress while a process holds one of its files open for writing, not for reading', async () => {
    const dir = await folderWith({ [`${A}.partial`]: 100, [`.${A}.journal`]: 10 });
    const holdOpen = async (flags: string) => {
      const child = spawn(process.execPath, [
        '-e',
        `require('fs').openSync(${JSON.stringify(join(dir, `.${A}.journal`))}, '${flags}'); console.log('open'); setInterval(() => {}, 1000)`,
      ]);
      await new Promise((resolve) => child.stdout.once('data', resolve));
      return child;
    };

    const reader = await holdOpen('r');
    try {
      expect((await findDebris(dir))[0]!.inProgress).toBeUndefined();
    } finally {
      reader.kill('SIGKILL');
    }
    const writer = await holdOpen('a');
    try {
      expect((await findDebris(dir))[0]!.inProgress).toBe(`process ${writer.pid} is writing it`);
    } finally {
      writer.kill('SIGKILL');
      await new Promise((resolve) => writer.once('close', resolve));
    }
    expect((await findDebris(dir))[0]!.inProgress).toBeUndefined();
  });

  it('counts debris as in progress while its run marker names a live process, and as left behind once that process is gone', async () => {
    const dir = await folderWith({ [`${A}.partial`]: 100 });
    const marker = runMarkerPath(join(dir, A));
    await writeFile(marker, JSON.stringify({ pid: process.pid, host: hostname() }));
    expect((await findDebris(dir))[0]!.inProgress).toBe(`process ${process.pid} is still running`);

    await writeFile(marker, JSON.stringify({ pid: deadPid(), host: hostname() }));
    const [group] = await findDebris(dir);
    expect(group!.inProgress).toBeUndefined();
    expect(group!.files.map((f) => f.kind).sort()).toEqual(['marker', 'partial']);
  });

  it('takes a marker whose pid now belongs to another process (a different start time) for a dead writer', async () => {
    const dir = await folderWith({ [`${A}.partial`]: 100 });
    await writeFile(runMarkerPath(join(dir, A)), JSON.stringify({ pid: process.pid, host: hostname(), start: '1' }));
    expect((await findDebris(dir))[0]!.inProgress).toBeUndefined();
  });

  it('does not list a run marker alone: a run that has just started has nothing to recover', async () => {
    const dir = await tempDir();
    await createRunMarker(join(dir, A));
    expect(await findDebris(dir)).toEqual([]);
  });
});

describe('the run marker', () => {
  it('names this process, refuses a second live writer, and is removed only by its own process', async () => {
    const dir = await tempDir();
    const path = await createRunMarker(join(dir, A));
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() });
    await expect(createRunMarker(join(dir, A))).rejects.toThrow(
      /is being written already \(process \d+ is still running\)/,
    );

    await writeFile(path, JSON.stringify({ pid: 1, host: hostname() }));
    await removeRunMarker(join(dir, A));
    expect(JSON.parse(await readFile(path, 'utf8')).pid).toBe(1);

    await writeFile(path, JSON.stringify({ pid: process.pid, host: hostname() }));
    await removeRunMarker(join(dir, A));
    await expect(readFile(path)).rejects.toThrow(/ENOENT/);
  });

  it('replaces a marker left by a dead process', async () => {
    const dir = await tempDir();
    await writeFile(runMarkerPath(join(dir, A)), JSON.stringify({ pid: deadPid(), host: hostname() }));
    await createRunMarker(join(dir, A));
    expect(JSON.parse(await readFile(runMarkerPath(join(dir, A)), 'utf8')).pid).toBe(process.pid);
  });
});

describe('the warning a run prints', () => {
  it('names the count, the size and the command, in one line, for finished runs only', async () => {
    const dir = await folderWith({
      [`${A}.partial`]: 1024 * 1024,
      [`.${A}.spool-0a1b2c3d4e5f`]: 512 * 1024,
      [`.${B}.journal`]: 0,
    });
    const groups = await findDebris(dir);

    const line = debrisWarning(groups, dir)!;

    expect(line).toBe(
      `firebreak: WARNING: 2 runs that did not finish left 1.5 MiB of unfinalised evidence in ${dir} (partial bundles, spool files, journals): ` +
        `run \`firebreak bundle recover --evidence-dir ${dir}\` to turn it into verifiable bundles`,
    );
    expect(line).not.toContain('\n');
    expect(
      debrisWarning(
        groups.map((g) => ({ ...g, inProgress: 'running' })),
        dir,
      ),
    ).toBeUndefined();
  });

  it('is one call for a run to make as it starts, and never fails it', async () => {
    const dir = await folderWith({ [`${A}.partial`]: 10 });
    expect(await debrisWarningFor(dir)).toMatch(/^firebreak: WARNING: 1 run that did not finish left 10 B /);
    expect(await debrisWarningFor(join(dir, `${A}.partial`))).toBeUndefined();
    expect(await debrisWarningFor(join(dir, 'missing'))).toBeUndefined();
  });

  it('classifies names as the writer makes them', () => {
    expect(classifyDebris(`${A}.partial`)).toEqual({ kind: 'partial', bundle: A });
    expect(classifyDebris(`.${B}.spool-0a1b2c3d4e5f`)).toEqual({ kind: 'spool', bundle: B });
    expect(classifyDebris(`${A}.sha256`)).toBeUndefined();
    expect(classifyDebris(A)).toBeUndefined();
  });
});
