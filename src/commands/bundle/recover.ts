import { Args } from '@oclif/core';
import { FirebreakCommand } from '../../cli/base.js';
import { jsonDocument, type Status } from '../../cli/json.js';
import { visibleControls } from '../../cli/terminal.js';
import { runFlags } from '../../cli/flags.js';
import { ExitCode } from '../../errors.js';
import { formatBytes } from '../../bytes.js';
import { recoverDebris, type RecoverResult } from '../../evidence/recover.js';

export default class BundleRecover extends FirebreakCommand {
  static override summary = 'Finalise what a run that did not finish left behind into aborted bundles that verify.';
  static override description =
    'A second Ctrl-C, kill -9 or a crash leaves a <bundle>.partial, hidden spool files and the journal in the evidence folder. ' +
    'This copies every whole entry of the partial (the bytes of a cut-off entry go under data/recovered/cut-off/, flagged incomplete), each spool file and the journal into ' +
    'a new bundle with status aborted, verifies it, and only then removes the debris, printing every file it removes. ' +
    'Debris of a run that is still writing is left alone. Exit 0 when all was recovered, 1 when something was not, 2 on bad input.';
  static override examples = [
    '<%= config.bin %> bundle recover',
    '<%= config.bin %> bundle recover --evidence-dir /var/lib/firebreak/evidence',
    '<%= config.bin %> bundle recover evidence/20250102T030405Z_forensics_INC-42.tar.gz.partial --json',
  ];
  static override strict = false;
  static override args = {
    path: Args.string({
      description: 'partial bundles, their journal or spool files, or evidence folders [default: --evidence-dir]',
    }),
  };
  static override flags = {
    'evidence-dir': runFlags['evidence-dir'],
  };

  async run(): Promise<unknown> {
    const { argv, flags } = await this.parse(BundleRecover);
    const results = await recoverDebris(argv as string[], flags['evidence-dir']);
    const failed = results.some(
      (r) => r.status === 'failed' || r.kept.length > 0 || (r.status === 'in-progress' && r.requested),
    );
    this.setExitCode(failed ? ExitCode.stepFailed : ExitCode.ok);
    if (!this.jsonEnabled()) {
      const text =
        results.length === 0
          ? `no debris of unfinished runs in ${argv.length ? argv.join(', ') : flags['evidence-dir']}\n`
          : results.map(renderResult).join('');
      process.stdout.write(visibleControls(text, true));
    }
    // Each result keeps its own word (recovered, finalised, cleaned, in-progress) as `outcome`.
    const documented = results.map(({ status, ...rest }) => ({
      ...rest,
      outcome: status,
      status: resultStatus(status),
    }));
    return jsonDocument('bundle-recover', failed ? 'failed' : 'succeeded', { results: documented });
  }
}

function resultStatus(outcome: RecoverResult['status']): Status {
  if (outcome === 'failed') return 'failed';
  return outcome === 'in-progress' ? 'skipped' : 'succeeded';
}

/** One block per run: what was kept, cut off and removed; the bundle line last, as for every run. */
function renderResult(result: RecoverResult): string {
  const lines: string[] = [];
  const from = `${result.dir}/${result.bundle}`;
  if (result.status === 'in-progress') {
    lines.push(`${result.requested ? 'refused' : 'skipped'} ${from}: a run is still writing it (${result.message})`);
  } else if (result.status === 'failed') {
    lines.push(`FAILED to recover ${from}: ${result.message}; nothing was removed`);
  } else if (result.status === 'cleaned') {
    lines.push(`${from}: ${result.message}`);
  } else {
    const parts = [`${result.entriesKept} whole entr${result.entriesKept === 1 ? 'y' : 'ies'} kept`];
    if (result.entriesCutOff.length) parts.push(`${result.entriesCutOff.length} cut off`);
    if (result.spools) parts.push(`${result.spools} spool file${result.spools === 1 ? '' : 's'}`);
    if (result.journal) parts.push('the journal');
    const verb = result.status === 'finalised' ? 'finalised (the partial was a whole bundle)' : 'recovered';
    lines.push(`${verb} ${from}: ${parts.join(', ')}; bundle verified`);
    for (const cut of result.entriesCutOff) {
      const what = cut.name ?? 'an entry with no header';
      const size = cut.size === undefined ? '' : ` of ${formatBytes(cut.size)}`;
      const fate = cut.keptAs ? `kept as ${cut.keptAs}, flagged incomplete` : 'left out';
      lines.push(`  cut off: ${what} (${formatBytes(cut.present)}${size} present), ${fate}: ${cut.reason}`);
    }
  }
  for (const removed of result.removed) lines.push(`  removed ${removed.path} (${formatBytes(removed.size)})`);
  for (const kept of result.kept) lines.push(`  kept ${kept.path}: ${kept.reason}`);
  if (result.path && result.sha256) lines.push(`bundle ${result.path} sha256 ${result.sha256}`);
  return `${lines.join('\n')}\n`;
}
