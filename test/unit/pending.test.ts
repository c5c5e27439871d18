import { describe, expect, it } from 'vitest';
import { pendingUndo } from '../../src/evidence/pending.js';
import type { RunRecord, StepRecord } from '../../src/evidence/record.js';
import { reportSummary } from '../../src/report/summary.js';

const WEB = 'a'.repeat(64);

function run(playbook: string, steps: Array<Partial<StepRecord> & { uses: string }>, at: string): RunRecord {
  return {
    schema: 'firebreak.run/v1',
    runId: `run-${playbook}`,
    incident: 'INC-7',
    playbook: { name: playbook, source: `${playbook}.yaml` },
    params: {},
    status: 'succeeded',
    startedAt: at,
    endedAt: at,
    durationMs: 1,
    operator: { user: 'ann', host: 'h' },
    tool: { name: 'firebreak', version: '0' },
    engine: { endpoint: 'unix:///var/run/docker.sock' },
    artifacts: [],
    targets: [
      {
        id: WEB,
        name: 'web-1',
        image: 'nginx',
        status: 'succeeded',
        steps: steps.map((s, i) => ({ id: `s${i}`, status: 'succeeded', attempts: 1, startedAt: at, ...s })),
      },
    ],
  };
}

const isolate = run(
  'isolate',
  [{ uses: 'network.disconnect', undo: { attachments: [{ network: 'front' }, { network: 'back' }] } }],
  '2026-01-01T03:00:00.000Z',
);
const throttle = run(
  'throttle',
  [{ uses: 'container.update', undo: { previous: { cpus: 0 } }, note: 'cpus 0.5, was none' }],
  '2026-01-01T03:01:00.000Z',
);
const pause = run('pause', [{ uses: 'container.pause', undo: { previous: 'running' } }], '2026-01-01T03:02:00.000Z');

describe('what is left to undo', () => {
  it('names the exact command for an isolate, a throttle and a pause, with the bundle that recorded each', () => {
    const left = pendingUndo([
      { record: isolate, bundle: '/ev/i.tar.gz' },
      { record: throttle, bundle: '/ev/my bundles/t.tar.gz' },
      { record: pause, bundle: '/ev/p.tar.gz' },
    ]);
    expect(left.map((u) => u.command)).toEqual([
      'firebreak restore-network web-1 --from /ev/i.tar.gz',
      "firebreak throttle web-1 --revert --from '/ev/my bundles/t.tar.gz'",
      'firebreak unpause web-1',
    ]);
    expect(left[0]!.what).toBe('disconnected from front, back');
  });

  it('drops what a later restore, revert or unpause undid, and ignores a disconnect that changed nothing', () => {
    const restore = run('restore-network', [{ uses: 'network.restore' }], '2026-01-01T04:00:00.000Z');
    const revert = run('throttle-revert', [{ uses: 'container.update' }], '2026-01-01T04:01:00.000Z');
    const unpause = run('unpause', [{ uses: 'container.unpause' }], '2026-01-01T04:02:00.000Z');
    const again = run(
      'isolate',
      [{ uses: 'network.disconnect', changed: false, undo: { attachments: [] } }],
      '2026-01-01T05:00:00.000Z',
    );
    const runs = [isolate, throttle, pause, restore, revert, unpause, again].map((record) => ({ record }));
    expect(pendingUndo(runs)).toEqual([]);
  });

  it('is at the top of the report: what was done, the state left, and the undo command', () => {
    const summary = reportSummary(isolate, 'evidence/i.tar.gz');
    expect(summary.done).toEqual(['web-1: network.disconnect']);
    expect(summary.state).toEqual(['web-1: cut off from its networks (run succeeded)']);
    expect(summary.undo.map((u) => u.command)).toEqual(['firebreak restore-network web-1 --from evidence/i.tar.gz']);
    expect(summary.incidentCommand).toBe('firebreak incident show INC-7');
  });
});
