import { describe, expect, it } from 'vitest';
import type { RunRecord, StepRecord } from '../../src/evidence/record.js';
import { renderHtml } from '../../src/report/html.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { buildReport, environment, maskText, sizeText } from '../../src/report/model.js';

const WEB = 'a'.repeat(64);
const DB = 'b'.repeat(64);

function step(id: string, uses: string, at: string | undefined, fields: Partial<StepRecord> = {}): StepRecord {
  return {
    id,
    uses,
    status: 'succeeded',
    attempts: 1,
    ...(at ? { startedAt: `2025-01-02T03:04:${at}Z`, durationMs: 12 } : {}),
    ...fields,
  };
}

/** Two containers worked on in parallel; db fails its restart and runs on-failure. */
function record(): RunRecord {
  return {
    schema: 'firebreak.run/v1',
    runId: 'run-1',
    incident: 'INC-7',
    playbook: { name: 'quarantine', description: 'Evidence, then stop.', source: 'playbooks/quarantine.yaml' },
    params: { grace: '10s', 'db-password': 'hunter2' },
    status: 'failed',
    startedAt: '2025-01-02T03:04:00.000Z',
    endedAt: '2025-01-02T03:04:30.000Z',
    durationMs: 30_000,
    operator: { user: 'alice', host: 'bastion' },
    tool: { name: 'firebreak', version: '0.1.0' },
    engine: { endpoint: 'unix:///var/run/docker.sock', version: '20.10.24', apiVersion: '1.41' },
    targets: [
      {
        id: WEB,
        name: 'web-1',
        image: 'shop/web:3',
        status: 'succeeded',
        steps: [
          step('snapshot', 'evidence.inspect', '01.000', { note: 'running, 6000 bytes' }),
          step('disconnect', 'network.disconnect', '05.000', { changed: false, note: 'already isolated', attempts: 2 }),
        ],
      },
      {
        id: DB,
        name: 'db|<1>',
        image: 'postgres:16',
        status: 'failed',
        steps: [
          step('snapshot', 'evidence.inspect', '02.000', {
            status: 'failed',
            continueOnError: true,
            error: 'engine said: boom\nsecond line',
          }),
          step('recover', 'group', '03.000', {
            status: 'failed',
            steps: [
              step('restart', 'container.restart', '03.500', {
                status: 'failed',
                error: 'login with API_TOKEN=abc123 refused',
              }),
            ],
          }),
          step('stop', 'container.stop', undefined, { status: 'skipped', note: 'not run: step recover failed' }),
        ],
        onFailure: [step('alert', 'alert.webhook', '06.000', { note: 'sent' })],
      },
    ],
    artifacts: [
      { path: 'targets/web-1/inspect.json', size: 6000, sha256: 'c'.repeat(64) },
      { path: 'journal.ndjson', size: 812, sha256: 'd'.repeat(64), incomplete: 'stream ended early' },
    ],
  };
}

const webInspect = {
  Id: WEB,
  AppArmorProfile: 'docker-default',
  Config: {
    User: '',
    Env: [
      'DB_PASSWORD=hunter2',
      'API_TOKEN=t0ps3cret',
      'APP_MODE=prod',
      'EMPTY=',
      'DATABASE_URL=postgres://app:dbpw9@db/app',
      'GITHUB_PAT=ghp_pat1',
    ],
  },
  HostConfig: { Privileged: false, CapAdd: ['CAP_NET_ADMIN'], Memory: 0, PidsLimit: null },
  Mounts: [{ Type: 'bind', Source: '/srv/<x>', Destination: '/data', RW: true }],
};

const model = () => buildReport(record(), new Map([[WEB, { inspect: webInspect }]]));

describe('report model', () => {
  it('merges both containers into one timeline by start time, groups and on-failure steps named by their path', () => {
    const rows = model().timeline.map((r) => `${r.container} ${r.step}`);
    expect(rows).toEqual([
      'web-1 snapshot',
      'db|<1> snapshot',
      'db|<1> recover',
      'db|<1> recover / restart',
      'db|<1> stop',
      'web-1 disconnect',
      'db|<1> on-failure / alert',
    ]);
  });

  it('says when a step was already done, retried, tolerated or skipped', () => {
    const byStep = new Map(model().timeline.map((r) => [`${r.container} ${r.step}`, r.result]));
    expect(byStep.get('web-1 disconnect')).toBe('succeeded (no change) after 2 attempts');
    expect(byStep.get('db|<1> snapshot')).toBe('failed (continue-on-error)');
    expect(byStep.get('db|<1> stop')).toBe('skipped');
  });

  it('masks secret-looking params, environment values and NAME=value pairs in step messages', () => {
    const m = model();
    expect(m.run.params).toEqual({ grace: '10s', 'db-password': '****' });
    expect(m.targets[0]!.env).toEqual([
      { name: 'DB_PASSWORD', value: '****', masked: true },
      { name: 'API_TOKEN', value: '****', masked: true },
      { name: 'APP_MODE', value: 'prod', masked: false },
      { name: 'EMPTY', value: '', masked: false },
      { name: 'DATABASE_URL', value: 'postgres://app:****@db/app', masked: true },
      { name: 'GITHUB_PAT', value: '****', masked: true },
    ]);
    expect(m.timeline.find((r) => r.step.endsWith('restart'))!.detail).toBe('login with API_TOKEN=**** refused');
    const everything = JSON.stringify(m) + renderMarkdown(m) + renderHtml(m);
    for (const secret of ['hunter2', 't0ps3cret', 'abc123', 'dbpw9', 'ghp_pat1'])
      expect(everything).not.toContain(secret);
  });

  it('gives findings only to containers whose inspect document it has', () => {
    const [web, db] = model().targets;
    expect(web!.inspected).toBe(true);
    expect(web!.findings.find((f) => f.id === 'capabilities')).toMatchObject({ value: 'NET_ADMIN', level: 'risk' });
    expect(web!.summary.risk).toBe(1);
    expect(db!.inspected).toBe(false);
    expect(db!.findings).toEqual([]);
  });

  it('lists the evidence with data/ paths and keeps the reason an entry is incomplete', () => {
    expect(model().evidence).toEqual([
      { path: 'data/targets/web-1/inspect.json', size: 6000, sha256: 'c'.repeat(64) },
      { path: 'data/journal.ndjson', size: 812, sha256: 'd'.repeat(64), incomplete: 'stream ended early' },
    ]);
    expect(sizeText(812)).toBe('812 B');
    expect(sizeText(6000)).toBe('6.0 KB (6000 B)');
  });

  it('reads environment entries without a value and ignores anything that is not a string', () => {
    expect(environment({ Config: { Env: ['FLAG', 42, 'SECRET_KEY=x=y'] } })).toEqual([
      { name: 'FLAG', value: '', masked: false },
      { name: 'SECRET_KEY', value: '****', masked: true },
    ]);
    expect(environment(null)).toEqual([]);
    expect(maskText('PASSWORD=a b=c')).toBe('PASSWORD=**** b=c');
  });
});

describe('changed files in the report', () => {
  const withFiles = (outputs: Record<string, unknown>) => {
    const r = record();
    const note = '7 collected (1.2 KiB), 3 left out over the 10.0 KiB cap, 4 skipped; see files.json';
    r.targets[0]!.steps.push(step('files', 'evidence.files', '07.000', { outputs, note }));
    return buildReport(r, new Map([[WEB, { inspect: webInspect }]]));
  };

  it('names the cap and counts what it left out, in markdown and HTML', () => {
    const m = withFiles({ collected: 7, 'left-out': 3, skipped: 4, bytes: 1234, 'max-bytes': 10240 });
    expect(m.targets[0]!.files).toMatchObject({ collected: 7, leftOut: 3, skipped: 4 });
    const md = renderMarkdown(m);
    expect(md).toContain(
      '**Changed files:** 7 collected (1.2 KiB), 3 left out over the 10.0 KiB cap, 4 skipped; see files.json.',
    );
    expect(md).toContain('3 files were left out of files.tar over the size cap');
    expect(renderHtml(m)).toContain('<span class="badge failed">3 left out</span> over the size cap');
  });

  it('says nothing about files for a playbook that copied none, and no warning when nothing was left out', () => {
    expect(model().targets[0]!.files).toBeUndefined();
    expect(
      renderMarkdown(withFiles({ collected: 7, 'left-out': 0, skipped: 4, bytes: 1, 'max-bytes': 10240 })),
    ).not.toContain('left out of files.tar');
  });
});

describe('renderMarkdown', () => {
  it('opens with the run, then the timeline, each container, and the evidence table', () => {
    const md = renderMarkdown(model());
    expect(md.startsWith('# firebreak quarantine: failed\n')).toBe(true);
    expect(md).toContain('| operator | alice@bastion |');
    expect(md).toContain('Times are UTC, on 2025-01-02; every step was run by alice@bastion.');
    expect(md).toContain(
      '| 03:04:05.000 | web-1 | disconnect | network.disconnect | succeeded (no change) after 2 attempts | 12 ms | already isolated |',
    );
    expect(md).toContain('### Hardening: 1 risk, ');
    expect(md).toContain('| added capabilities | NET_ADMIN | **RISK** |');
    expect(md).toContain('| DB_PASSWORD | `****` |');
    expect(md).toContain('| data/journal.ndjson (incomplete: stream ended early) | 812 B | `' + 'd'.repeat(64) + '` |');
    expect(md).toContain('No inspect document for this container');
  });

  it('keeps table rows whole: pipes escaped, line breaks flattened, no raw HTML', () => {
    const md = renderMarkdown(model());
    expect(md).toContain('## db\\|&lt;1> (bbbbbbbbbbbb): failed');
    expect(md).toContain('engine said: boom second line');
    for (const line of md.split('\n').filter((l) => l.startsWith('| '))) {
      const cells = line.replace(/\\\|/g, '').split('|').length;
      expect(cells, line).toBeGreaterThan(2);
    }
    expect(md).not.toMatch(/<1>|<x>/);
  });

  it('writes the date on every time when the run spans midnight', () => {
    const r = record();
    r.endedAt = '2025-01-03T00:00:01.000Z';
    expect(renderMarkdown(buildReport(r))).toContain('| 2025-01-02 03:04:01.000 | web-1 | snapshot |');
  });
});

describe('renderHtml', () => {
  it('is one self-contained document: inline style, no scripts, no external references', () => {
    const html = renderHtml(model());
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('<style>');
    expect(html).toContain(`Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'"`);
    expect(html).not.toMatch(/https?:\/\/|<script|<link|<img|\bsrc=|url\(/i);
  });

  it('escapes every value from the bundle', () => {
    const r = record();
    r.targets[0]!.name = '<script>alert(1)</script>';
    r.targets[0]!.image = '"><img src=x onerror=alert(1)>';
    const html = renderHtml(buildReport(r, new Map([[WEB, { inspect: webInspect }]])));
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('/srv/&lt;x&gt; -&gt; /data (rw)');
  });

  it('marks each finding with its level and shows the counts', () => {
    const html = renderHtml(model());
    expect(html).toMatch(/<tr class="finding risk"><td>added capabilities<\/td><td><code>NET_ADMIN<\/code><\/td>/);
    expect(html).toContain('<code class="masked">****</code>');
    expect(html).toMatch(/<span class="level risk">risk<\/span> 1/);
  });
});
