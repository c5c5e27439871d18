// watch through an engine crash: on the private second engine (never the shared one), dockerd is
// killed and started again while watch follows it; watch reconnects with backoff, re-lists, and
// still recovers a container that turns unhealthy afterwards.
import { describe, expect, it } from 'vitest';
import { usePrivateEngine } from '../setup/private-engine.js';
import { FIXTURE_IMAGE, TEST_LABEL } from '../setup/fixture-image.js';
import { tempDir } from './bundle-files.js';
import {
  breakHealth,
  engineActions,
  healthy,
  runLabel,
  startWatch,
  waitForHealth,
  waitForLine,
} from './watch-helpers.js';

const engine = usePrivateEngine();

describe('firebreak watch and an engine restart', () => {
  it('survives a crash and restart of the engine and recovers a container that turns unhealthy afterwards', async () => {
    const label = runLabel();
    const evidence = tempDir();
    const watch = await startWatch(['--host', engine().host, '--label', label.flag, '--evidence-dir', evidence]);
    try {
      await engine().kill();
      await waitForLine(watch, /broke off the event stream|ended the event stream|cannot reach/);
      await engine().restart();
      await waitForLine(watch, /reconnected to /, 40_000);
      const client = engine().docker;
      const created = await client.createContainer({
        Image: FIXTURE_IMAGE,
        Cmd: healthy.cmd,
        Healthcheck: healthy.healthcheck,
        Labels: { [TEST_LABEL]: '1', [label.key]: label.value },
        HostConfig: { Init: true },
      });
      await created.start();
      await waitForHealth(client, created.id, 'healthy');
      const since = new Date();
      await breakHealth(client, created.id);
      await waitForLine(watch, /recovery succeeded/);
      await waitForHealth(client, created.id, 'healthy');
      expect(await engineActions(client, created.id, since)).toContain('restart');
    } finally {
      watch.kill('SIGTERM');
    }
    expect((await watch.done).code).toBe(0);
  }, 90_000);
});
