/**
 * The changed paths of a container's writable layer (diff.json), the ones a responder looks at
 * first on top: system binaries and libraries, configuration, persistence (cron, init, shell
 * start-up files), access (authorized_keys, sudoers, passwd) and the folders droppers use.
 */

export type ChangeKind = 'added' | 'changed' | 'deleted';

export interface ChangedPath {
  path: string;
  kind: ChangeKind;
  /** Why a responder looks here first; absent for an ordinary path. */
  sensitive?: string;
}

export interface ChangedPaths {
  total: number;
  added: number;
  changed: number;
  deleted: number;
  sensitive: number;
  /** Sensitive paths first, then the rest; added, deleted, changed; by path; at most `changedPathCap`. */
  shown: ChangedPath[];
}

export const changedPathCap = 60;

const under = (...roots: string[]) => new RegExp(`^(${roots.join('|')})(/|$)`);

// First match wins, so the narrower reasons come before the folders that hold them.
const sensitivePaths: Array<[RegExp, string]> = [
  [/(^|\/)\.ssh\/authorized_keys2?$|(^|\/)authorized_keys2?$/, 'SSH access'],
  [/^\/etc\/(sudoers|sudoers\.d)(\/|$)/, 'privilege (sudo)'],
  [/^\/etc\/ld\.so\.(preload|conf)(\.d)?(\/|$)/, 'library preload'],
  [/^\/etc\/(passwd|shadow|group|gshadow)-?$/, 'accounts'],
  [/crontab|^\/etc\/cron[^/]*(\/|$)|^\/var\/spool\/cron(\/|$)/, 'persistence (cron)'],
  [/^\/etc\/(init\.d|rc\.local|systemd|profile\.d|profile|bash\.bashrc|environment)(\/|$)/, 'persistence (start-up)'],
  [
    /(^|\/)\.(bashrc|bash_profile|bash_login|profile|zshrc|zprofile|cshrc|tcshrc|kshrc|bash_logout)$/,
    'shell start-up file',
  ],
  [/(^|\/)\.ssh(\/|$)/, 'SSH configuration'],
  [under('/bin', '/sbin', '/usr/bin', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin'), 'system binaries'],
  [under('/lib', '/lib32', '/lib64', '/libx32', '/usr/lib', '/usr/lib64', '/usr/local/lib'), 'system libraries'],
  [under('/usr'), 'system files'],
  [under('/etc'), 'configuration'],
  [under('/root', '/boot'), 'root home or boot'],
  [under('/tmp', '/var/tmp', '/dev/shm'), 'temporary folder (droppers)'],
];

export function sensitiveReason(path: string): string | undefined {
  return sensitivePaths.find(([pattern]) => pattern.test(path))?.[1];
}

/** undefined when the document is not a diff (no evidence.diff step, or another tool's file). */
export function changedPaths(diff: unknown, cap = changedPathCap): ChangedPaths | undefined {
  if (!Array.isArray(diff)) return undefined;
  const rows: ChangedPath[] = [];
  for (const row of diff as Array<{ path?: unknown; kind?: unknown }>) {
    if (typeof row?.path !== 'string') continue;
    const kind: ChangeKind = row.kind === 'added' || row.kind === 'deleted' ? row.kind : 'changed';
    const sensitive = sensitiveReason(row.path);
    rows.push({ path: row.path, kind, ...(sensitive ? { sensitive } : {}) });
  }
  const count = (kind: ChangeKind) => rows.filter((r) => r.kind === kind).length;
  // Within each group, added and deleted before changed: the engine marks every folder above a
  // new file as changed, which says less than the file itself.
  const rank = { added: 0, deleted: 1, changed: 2 };
  const ordered = [...rows].sort(
    (a, b) =>
      Number(!a.sensitive) - Number(!b.sensitive) ||
      rank[a.kind] - rank[b.kind] ||
      (a.path < b.path ? -1 : a.path > b.path ? 1 : 0),
  );
  return {
    total: rows.length,
    added: count('added'),
    changed: count('changed'),
    deleted: count('deleted'),
    sensitive: rows.filter((r) => r.sensitive).length,
    shown: ordered.slice(0, cap),
  };
}
