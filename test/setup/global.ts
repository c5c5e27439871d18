import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import type { TestProject } from 'vitest/node';
import { summaryLines, type Trial } from '../faults/summary.js';
import { ensureFixtureImage, FIXTURE_IMAGE } from './fixture-image.js';

// Integration tests must fail, never skip, when there is no engine: throwing here fails the run.
export default async function setup(project: TestProject): Promise<() => void> {
  const where = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  // docker-modem reads DOCKER_HOST itself, else uses the local socket. The timeout keeps a dead
  // tcp:// host from hanging the run until hookTimeout.
  const docker = new Docker({ timeout: 10_000 });
  try {
    await docker.ping();
  } catch (error) {
    throw new Error(`no Docker engine answers on ${where}; run scripts/ensure-docker.sh (${(error as Error).message})`);
  }

  const ms = await ensureFixtureImage(docker);
  if (ms > 0) console.log(`fixture image ${FIXTURE_IMAGE} imported in ${Math.round(ms)} ms`);

  // The fault suite's ledger (test/faults/ledger.ts): one file for every worker of this run.
  const ledger = join(tmpdir(), `firebreak-faults-${process.pid}-${Date.now()}.ndjson`);
  project.provide('faultLedger', ledger);
  return () => {
    if (!existsSync(ledger)) return;
    const entries = readFileSync(ledger, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Trial);
    rmSync(ledger, { force: true });
    console.log(['', 'fault-injection summary:', ...summaryLines(entries)].join('\n'));
  };
}
