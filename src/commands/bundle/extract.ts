import { Args } from '@oclif/core';
import { FirebreakCommand } from '../../cli/base.js';
import { jsonDocument, type JsonDocument } from '../../cli/json.js';
import { visibleControls } from '../../cli/terminal.js';
import { ExitCode } from '../../errors.js';
import { formatBytes } from '../../bytes.js';
import { assertEmptyDestination, extractBundle, type ExtractResult } from '../../evidence/extract.js';
import { assertBundleFile } from '../../evidence/reader.js';

export default class BundleExtract extends FirebreakCommand {
  static override summary = 'Unpack a bundle into a folder, safely, without tar.';
  static override description =
    'DIR must be new or empty; it is created 0700. No entry can land outside DIR: absolute paths, .. segments, ' +
    'symlinks that could point out, hard links to anything but a file already extracted, device files and FIFOs are ' +
    'refused and listed, nothing is written through a symlink and nothing is overwritten. Modes are kept (without ' +
    'setuid, setgid and sticky bits). Reads .tar.gz and .tar. Exit 0, or 5 when an entry was refused.';
  static override examples = [
    '<%= config.bin %> bundle extract evidence/20250102T030405Z_forensics_INC-42.tar.gz /tmp/inc-42',
    'open /tmp/inc-42/*/data/report.html',
  ];
  static override args = {
    bundle: Args.string({ required: true, description: 'bundle file (.tar.gz or .tar)' }),
    dir: Args.string({ required: true, description: 'folder to unpack into (new or empty)' }),
  };

  async run(): Promise<JsonDocument<ExtractResult>> {
    const { args } = await this.parse(BundleExtract);
    await assertBundleFile(args.bundle);
    await assertEmptyDestination(args.dir);
    const result = await extractBundle(args.bundle, args.dir);
    const ok = result.refused.length === 0;
    this.setExitCode(ok ? ExitCode.ok : ExitCode.verifyFailed);
    if (!this.jsonEnabled()) {
      const lines = result.refused.map((r) => `refused ${r.name}: ${r.reason}`);
      lines.push(
        `${ok ? 'extracted' : 'FAILED: extracted only part of'} ${args.bundle} into ${result.dir}: ` +
          `${result.files} files (${formatBytes(result.bytes)}), ${result.directories} folders` +
          `${result.links ? `, ${result.links} links` : ''}${ok ? '' : `; ${result.refused.length} entries refused`}`,
      );
      process.stdout.write(visibleControls(`${lines.join('\n')}\n`, true));
    }
    return jsonDocument('extract', ok ? 'succeeded' : 'failed', result);
  }
}
