import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import tar from 'tar-stream';

export const FIXTURE_REPO = 'firebreak-test/busybox';
export const FIXTURE_TAG = '1';
export const FIXTURE_IMAGE = `${FIXTURE_REPO}:${FIXTURE_TAG}`;
export const TEST_LABEL = 'firebreak.test';

const BUSYBOX = '/bin/busybox';

const DIRS: Array<[string, number]> = [
  ['bin', 0o755],
  ['sbin', 0o755],
  ['usr', 0o755],
  ['usr/bin', 0o755],
  ['usr/sbin', 0o755],
  ['tmp', 0o1777],
  ['etc', 0o755],
  ['root', 0o700],
  ['var', 0o755],
  ['proc', 0o555],
  ['sys', 0o555],
  ['dev', 0o755],
];

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n';
const GROUP = 'root:x:0:\nnogroup:x:65534:\n';

/** A rootfs tar: static busybox, one symlink per applet, and the few files a shell expects. */
export function rootfsTar(): tar.Pack {
  const pack = tar.pack();
  const mtime = new Date(0);
  const dirs = new Set<string>();
  const dir = (name: string, mode = 0o755) => {
    if (dirs.has(name)) return;
    dirs.add(name);
    pack.entry({ name: `${name}/`, type: 'directory', mode, mtime });
  };

  for (const [name, mode] of DIRS) dir(name, mode);
  pack.entry({ name: 'bin/busybox', mode: 0o755, mtime }, readFileSync(BUSYBOX));
  const applets = execFileSync(BUSYBOX, ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const applet of applets) {
    if (applet === 'bin/busybox') continue;
    dir(posix.dirname(applet));
    pack.entry({ name: applet, type: 'symlink', linkname: '/bin/busybox', mode: 0o777, mtime });
  }
  pack.entry({ name: 'etc/passwd', mode: 0o644, mtime }, PASSWD);
  pack.entry({ name: 'etc/group', mode: 0o644, mtime }, GROUP);
  pack.finalize();
  return pack;
}

/** Imports the fixture image unless the engine already has it. Returns how long the import took (ms), or 0. */
export async function ensureFixtureImage(docker: Docker): Promise<number> {
  try {
    await docker.getImage(FIXTURE_IMAGE).inspect();
    return 0;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
  }

  const started = performance.now();
  // POST /images/create?fromSrc=- ; `changes` is a repeated query parameter (docker-modem passes
  // arrays through querystring as changes=..&changes=..). LABEL and CMD are allowed here.
  // tar-stream packs are streamx streams; Readable.from gives dockerode the Node stream it expects.
  const progress = await docker.importImage(Readable.from(rootfsTar()), {
    repo: FIXTURE_REPO,
    tag: FIXTURE_TAG,
    changes: [`LABEL ${TEST_LABEL}=1`, 'CMD ["sh"]'],
  });
  // The engine answers 200 and reports failures inside the JSON progress stream, so read it to the end.
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(progress, (err: Error | null, events: Array<{ error?: string }>) => {
      const failed = events?.find((e) => e.error);
      if (err) reject(err);
      else if (failed) reject(new Error(`importing ${FIXTURE_IMAGE} failed: ${failed.error}`));
      else resolve();
    });
  });
  return performance.now() - started;
}
