import { describe, expect, it } from 'vitest';
import type { FileChange } from '../../src/docker/index.js';
import { selectFiles } from '../../src/steps/evidence-files.js';
import { resolveMoment } from '../../src/steps/evidence-logs.js';

const change = (path: string, kind: FileChange['kind']): FileChange => ({ path, kind });

describe('selectFiles', () => {
  // What `docker diff` shows after: echo > /tmp/evil.sh; mkdir -p /var/x; echo > /var/x/y; rm /etc/motd
  const diff = [
    change('/var/x/y', 'added'),
    change('/tmp', 'changed'),
    change('/tmp/evil.sh', 'added'),
    change('/var', 'changed'),
    change('/var/x', 'added'),
    change('/etc', 'changed'),
    change('/etc/motd', 'deleted'),
  ];

  it('fetches an added directory once, and accounts for the entries inside it from that archive', () => {
    const { wanted, skipped, within } = selectFiles(diff);
    expect(wanted.map((c) => c.path)).toEqual(['/tmp/evil.sh', '/var/x']);
    expect(within.get('/var/x')).toEqual([change('/var/x/y', 'added')]);
    expect(skipped.find((s) => s.path === '/var/x/y')).toBeUndefined();
  });

  it('keeps nested added directories inside the outermost one', () => {
    const { wanted, within } = selectFiles([change('/a', 'added'), change('/a/b', 'added'), change('/a/b/c', 'added')]);
    expect(wanted.map((c) => c.path)).toEqual(['/a']);
    expect(within.get('/a')?.map((c) => c.path)).toEqual(['/a/b', '/a/b/c']);
  });

  it('does not fetch a changed directory whose changed entries are listed on their own', () => {
    const { skipped } = selectFiles(diff);
    for (const dir of ['/tmp', '/var', '/etc'])
      expect(skipped.find((s) => s.path === dir)?.reason).toMatch(/changed directory/);
  });

  it('records deleted paths as skipped with the reason', () => {
    expect(selectFiles(diff).skipped.find((s) => s.path === '/etc/motd')).toEqual({
      path: '/etc/motd',
      kind: 'deleted',
      reason: expect.stringMatching(/^deleted/),
    });
  });

  it('skips /proc, /sys and /dev but not paths that merely start with those letters', () => {
    const { wanted, skipped } = selectFiles([
      change('/dev/shm/x', 'added'),
      change('/proc/1', 'changed'),
      change('/sys', 'changed'),
      change('/devtools', 'added'),
    ]);
    expect(wanted.map((c) => c.path)).toEqual(['/devtools']);
    expect(skipped.map((s) => s.reason)).toEqual(
      Array(3).fill('kernel or device pseudo-filesystem, not container data'),
    );
  });

  it('keeps a sibling whose name extends an added directory name', () => {
    const { wanted } = selectFiles([
      change('/var/x', 'added'),
      change('/var/x/y', 'added'),
      change('/var/x-y', 'added'),
    ]);
    expect(wanted.map((c) => c.path)).toEqual(['/var/x', '/var/x-y']);
  });

  it('accounts for every diff entry exactly once', () => {
    const { wanted, skipped, within } = selectFiles(diff);
    expect([...wanted, ...skipped, ...[...within.values()].flat()].map((c) => c.path).sort()).toEqual(
      diff.map((c) => c.path).sort(),
    );
  });
});

describe('resolveMoment', () => {
  const now = new Date('2026-03-04T05:06:07.000Z');

  it('reads a duration as that long before now', () => {
    expect(resolveMoment('10m', now, 'since')?.toISOString()).toBe('2026-03-04T04:56:07.000Z');
    expect(resolveMoment('1.5h', now, 'since')?.toISOString()).toBe('2026-03-04T03:36:07.000Z');
    expect(resolveMoment('2d', now, 'since')?.toISOString()).toBe('2026-03-02T05:06:07.000Z');
  });

  it('reads Unix seconds and RFC 3339 dates as they are', () => {
    expect(resolveMoment(1767225600, now, 'since')?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(resolveMoment('1767225600.25', now, 'since')?.toISOString()).toBe('2026-01-01T00:00:00.250Z');
    expect(resolveMoment('2026-01-01T01:00:00+01:00', now, 'until')?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
  });

  it('leaves an absent bound open and names a bad one', () => {
    expect(resolveMoment(undefined, now, 'since')).toBeUndefined();
    expect(() => resolveMoment('yesterday-ish', now, 'since')).toThrow(
      /since "yesterday-ish": expected a duration like 2h/,
    );
  });
});
