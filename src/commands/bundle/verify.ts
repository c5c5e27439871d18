import { Args, Flags } from '@oclif/core';
import { FirebreakCommand } from '../../cli/base.js';
import { jsonDocument, type JsonDocument } from '../../cli/json.js';
import { visibleControls } from '../../cli/terminal.js';
import { ExitCode } from '../../errors.js';
import { checkSignature, type SignatureCheck } from '../../evidence/sign.js';
import { verifyBundle, type VerifyReport } from '../../evidence/verify.js';
import { isFleetIndexPath, verifyFleetIndex, type IndexVerifyReport } from '../../evidence/fleet-index.js';

type SignedReport = VerifyReport & { signature: SignatureCheck };

export default class BundleVerify extends FirebreakCommand {
  static override summary = 'Re-hash every entry of an evidence bundle against its manifests.';
  static override description =
    'Streams the bundle once: every entry is hashed again and compared with manifest-sha256.txt and tagmanifest-sha256.txt, ' +
    'the payload with Payload-Oxum in bag-info.txt, and the whole file with <bundle>.sha256 when it is there. ' +
    'A <bundle>.sig (from --sign) is checked against the bundle, and with --allowed-signers against the keys that file allows, ' +
    'as `ssh-keygen -Y verify -n firebreak` would. ' +
    'Prints every mismatching, missing and unexpected file. Exit 0 only when all match, 5 otherwise.';
  static override examples = [
    '<%= config.bin %> bundle verify evidence/20250102T030405Z_isolate_INC-42.tar.gz',
    '<%= config.bin %> bundle verify evidence/20250102T030405Z_isolate_INC-42.tar --json',
    '<%= config.bin %> bundle verify evidence/20250102T030405Z_isolate_INC-42.tar.gz --allowed-signers ~/.config/firebreak/allowed_signers',
    '<%= config.bin %> bundle verify evidence/20250102T030405Z_isolate_INC-42.index.json',
  ];
  static override flags = {
    'allowed-signers': Flags.string({
      helpValue: 'FILE',
      description:
        'ssh-keygen allowed_signers file (PRINCIPAL ssh-ed25519 KEY per line): the bundle must carry a <bundle>.sig by one of these keys',
    }),
  };
  static override args = {
    file: Args.string({
      required: true,
      description:
        "bundle file (.tar.gz or .tar), or a fleet run's incident index (.index.json): every bundle it names",
    }),
  };

  async run(): Promise<JsonDocument<SignedReport> | IndexVerifyReport> {
    const { args, flags } = await this.parse(BundleVerify);
    if (isFleetIndexPath(args.file)) {
      const report = await verifyFleetIndex(args.file);
      this.setExitCode(report.ok ? ExitCode.ok : ExitCode.verifyFailed);
      if (!this.jsonEnabled()) process.stdout.write(visibleControls(renderIndexVerify(report), true));
      return report;
    }
    const bagReport = await verifyBundle(args.file);
    const signature = await checkSignature(args.file, flags['allowed-signers']);
    const report: SignedReport = { ...bagReport, signature };
    if (!signature.ok) {
      report.ok = false;
      report.problems = [...report.problems, signature.problem ?? `${signature.path} does not verify`];
    }
    this.setExitCode(report.ok ? ExitCode.ok : ExitCode.verifyFailed);
    // Entry names come from the bundle, which anyone may have made: never raw controls on a terminal.
    if (!this.jsonEnabled()) process.stdout.write(visibleControls(renderVerify(report), true));
    return jsonDocument('verify', report.ok ? 'succeeded' : 'failed', report);
  }
}

/** One line per problem, then the verdict last, so `tail -1` is enough for a script. */
function renderVerify(report: SignedReport): string {
  const lines = [...report.problems];
  const { signature } = report;
  if (signature.ok && signature.present) {
    const by = signature.principals ? ` by ${signature.principals.join(', ')}` : '';
    const note = signature.checked ? '' : ' (no --allowed-signers: the key itself is not vouched for)';
    lines.push(`signature ${signature.path} matches${by}, key ${signature.fingerprint}${note}`);
  }
  if (report.sidecar.present && report.sidecar.ok)
    lines.push(`sha256 ${report.sidecar.actual} matches ${report.bundle}.sha256`);
  else if (!report.sidecar.present)
    lines.push(`sha256 ${report.sidecar.actual} (no ${report.bundle}.sha256 beside it to compare)`);
  if (report.ok) {
    lines.push(`verified ${report.bundle}: ${report.entries} entries, all match`);
  } else {
    const counts = [
      [report.mismatches.length, 'mismatched'],
      [report.missing.length, 'missing'],
      [report.unexpected.length, 'unexpected'],
    ] as const;
    const parts = counts.filter(([n]) => n > 0).map(([n, what]) => `${n} ${what}`);
    if (report.sidecar.present && !report.sidecar.ok) parts.push('sidecar .sha256 differs');
    if (!report.oxum.ok) parts.push('Payload-Oxum differs');
    if (!signature.ok) parts.push('signature does not verify');
    const other =
      report.problems.length -
      (signature.ok ? 0 : 1) -
      report.mismatches.length -
      report.missing.length -
      report.unexpected.length;
    const shown = parts.length > 0 ? parts.join(', ') : `${other} problem${other === 1 ? '' : 's'}`;
    lines.push(`FAILED ${report.bundle}: ${shown} (${report.entries} entries read)`);
  }
  return `${lines.join('\n')}\n`;
}

/** One line per engine of the index, problems first, the verdict last. */
function renderIndexVerify(report: IndexVerifyReport): string {
  const lines = [...report.problems];
  for (const engine of report.engines) {
    if (!engine.bundle) lines.push(`${engine.name}: no bundle (exit ${engine.exitCode} in the run)`);
    else if (engine.report?.ok && engine.sha256Ok)
      lines.push(
        `${engine.name}: verified ${engine.bundle}: ${engine.report.entries} entries, sha256 as the index says`,
      );
  }
  const bundles = report.engines.filter((e) => e.bundle).length;
  lines.push(
    report.ok
      ? `verified ${report.index}: ${bundles} bundle${bundles === 1 ? '' : 's'} of incident ${report.incident}, all match`
      : `FAILED ${report.index}: ${report.problems.length} problem${report.problems.length === 1 ? '' : 's'} in ${bundles} bundles`,
  );
  return `${lines.join('\n')}\n`;
}
