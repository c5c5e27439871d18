import { randomBytes } from 'node:crypto';
import { rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Args, Flags } from '@oclif/core';
import { FirebreakCommand } from '../cli/base.js';
import { visibleControls } from '../cli/terminal.js';
import { ExitCode, UsageError } from '../errors.js';
import { reportFromBundle } from '../report/bundle.js';
import { renderHtml } from '../report/html.js';
import { renderMarkdown } from '../report/markdown.js';
import type { ReportModel } from '../report/model.js';

export default class Report extends FirebreakCommand {
  static override summary = 'Render the report of an evidence bundle again, as Markdown, JSON or HTML.';
  static override description =
    "Verifies the bundle, then reads data/run.json and each container's evidence (inspect, processes, resource sample, diff, image, " +
    'the tails of the logs) in one pass and renders a summary with the exact undo commands, the timeline, changed paths (sensitive first), ' +
    'processes, resources, log lines, hardening findings, environment (secret-looking values masked) and every artifact with its SHA-256. ' +
    'A bundle that fails verification gets a banner naming what failed, and the command exits 5 after writing. The HTML is one self-contained file. ' +
    'Control characters from the containers (escape sequences in env values, engine or webhook messages) are written as \\u001b.';
  static override examples = [
    '<%= config.bin %> report evidence/20250102T030405Z_isolate_INC-42.tar.gz',
    '<%= config.bin %> report evidence/20250102T030405Z_isolate_INC-42.tar.gz --format html --output INC-42.html',
    '<%= config.bin %> report evidence/20250102T030405Z_isolate_INC-42.tar.gz --format json',
  ];
  static override args = { file: Args.string({ required: true, description: 'bundle file (.tar.gz or .tar)' }) };
  static override flags = {
    format: Flags.string({ char: 'f', options: ['md', 'json', 'html'], default: 'md', description: 'Report format' }),
    output: Flags.string({
      char: 'o',
      helpValue: 'PATH',
      description: 'Write the report to this file (mode 0600, replacing any file there) instead of stdout',
    }),
  };

  async run(): Promise<ReportModel> {
    const { args, flags } = await this.parse(Report);
    if (flags.output) await checkOutput(flags.output);
    // The model's status is the run's, or failed when the bundle does not verify.
    const model = await reportFromBundle(args.file);
    // JSON keeps its meaning: the escapes are JSON's own, and JSON.stringify already wrote C0 that way.
    const text = visibleControls(render(model, flags.format), true);
    if (flags.output) {
      await writePrivate(flags.output, text);
      if (!this.jsonEnabled())
        process.stdout.write(
          `wrote ${flags.format} report of ${visibleControls(args.file)} to ${visibleControls(flags.output)}\n`,
        );
    } else if (!this.jsonEnabled()) {
      process.stdout.write(text);
    }
    // Written first, with its banner: a responder still needs to read a damaged bundle.
    if (model.verification && !model.verification.ok) {
      process.stderr.write(
        `firebreak: bundle ${visibleControls(args.file)} failed verification: ${visibleControls(model.verification.problems.join('; '))}\n`,
      );
      this.setExitCode(ExitCode.verifyFailed);
    }
    return model;
  }
}

function render(model: ReportModel, format: string): string {
  if (format === 'html') return renderHtml(model);
  if (format === 'json') return `${JSON.stringify(model, null, 2)}\n`;
  return renderMarkdown(model);
}

/** Before the bundle is read: a directory or a missing folder is bad input, exit 2. */
async function checkOutput(path: string): Promise<void> {
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory())
    throw new UsageError(`--output ${path} is a directory; name a file, e.g. ${join(path, 'report.md')}`);
  const folder = await stat(dirname(path)).catch(() => undefined);
  if (!folder?.isDirectory()) throw new UsageError(`--output ${path}: the folder ${dirname(path)} does not exist`);
}

/**
 * The report holds inspect data, so it is 0600 like the bundle, also over an existing file:
 * writeFile's mode applies only to a file it creates, so the text goes to a new 0600 file beside
 * the target, which then replaces it.
 */
async function writePrivate(path: string, text: string): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(temporary, text, { mode: 0o600, flag: 'wx' });
    await rename(temporary, path);
  } finally {
    await rm(temporary, { force: true });
  }
}
