import { Flags } from '@oclif/core';
import { FirebreakCommand } from '../../cli/base.js';
import { runFlags } from '../../cli/flags.js';
import { jsonDocument } from '../../cli/json.js';
import { visibleControls } from '../../cli/terminal.js';
import { ExitCode } from '../../errors.js';
import { describeBundle, listBundleFiles, type CatalogEntry } from '../../evidence/catalog.js';
import { safeNamePart } from '../../evidence/naming.js';
import { mapLimit } from '../../engine/progress.js';

export default class BundleList extends FirebreakCommand {
  static override summary =
    'List the bundles of the evidence folder: time, playbook, targets, status, and whether each verifies.';
  static override description =
    'Oldest first. Every bundle is read and verified (as `bundle verify` does, without allowed signers), so a tampered ' +
    'or damaged bundle shows as FAILED. Exit 0 when every listed bundle verifies, 5 when one does not.';
  static override examples = [
    '<%= config.bin %> bundle list',
    '<%= config.bin %> bundle list --incident INC-42',
    '<%= config.bin %> bundle list --evidence-dir /var/lib/firebreak/evidence --json',
  ];
  static override flags = {
    incident: Flags.string({ description: 'Only the bundles of this incident' }),
    'evidence-dir': runFlags['evidence-dir'],
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(BundleList);
    const dir = flags['evidence-dir'];
    // The file name carries the incident: only those bundles are read, then run.json has the last word.
    const files = (await listBundleFiles(dir)).filter(
      (path) => flags.incident === undefined || path.includes(`_${safeNamePart(flags.incident)}.tar`),
    );
    // A few at once: each read hashes a whole bundle, and a folder may hold hundreds.
    const bundles = (await mapLimit(files, 4, (path) => describeBundle(path))).filter(
      (b) => flags.incident === undefined || b.incident === flags.incident,
    );
    const allVerify = bundles.every((b) => b.verified);
    this.setExitCode(allVerify ? ExitCode.ok : ExitCode.verifyFailed);
    if (!this.jsonEnabled()) process.stdout.write(visibleControls(renderList(dir, bundles, flags.incident), true));
    return jsonDocument('bundle-list', allVerify ? 'succeeded' : 'failed', { evidenceDir: dir, bundles });
  }
}

function renderList(dir: string, bundles: readonly CatalogEntry[], incident?: string): string {
  if (bundles.length === 0) return `no bundles${incident ? ` of incident ${incident}` : ''} in ${dir}\n`;
  const rows = bundles.map((b) => [
    (b.startedAt ?? '?').replace(/\.\d+Z$/, 'Z'),
    b.playbook ?? '?',
    b.incident ?? '?',
    b.targets.join(',') || '-',
    b.status,
    b.verified ? (b.signed ? 'verified, signed' : 'verified') : 'FAILED',
    b.path,
  ]);
  const header = ['STARTED', 'PLAYBOOK', 'INCIDENT', 'TARGETS', 'STATUS', 'VERIFY', 'BUNDLE'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const problems = bundles.filter((b) => !b.verified).map((b) => `FAILED ${b.path}: ${b.problem ?? 'does not verify'}`);
  return `${[line(header), ...rows.map(line), ...problems].join('\n')}\n`;
}
