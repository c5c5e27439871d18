import { writeFile } from 'node:fs/promises';
import { Args, Flags } from '@oclif/core';
import { FirebreakCommand } from '../cli/base.js';
import { reportFromBundle } from '../report/bundle.js';
import { renderHtml } from '../report/html.js';
import { renderMarkdown } from '../report/markdown.js';
import type { ReportModel } from '../report/model.js';

export default class Report extends FirebreakCommand {
  static override summary = 'Render the report of an evidence bundle again, as Markdown, JSON or HTML.';
  static override description =
    'Reads data/run.json and each container\'s inspect.json from the bundle (one pass) and renders the timeline, ' +
    'hardening findings, environment (secret-looking values masked) and evidence table. The HTML is one self-contained file.';
  static override examples = [
    '<%= config.bin %> report evidence/20250102T030405Z_isolate_INC-42.tar.gz',
    '<%= config.bin %> report evidence/20250102T030405Z_isolate_INC-42.tar.gz --format html --output INC-42.html',
    '<%= config.bin %> report evidence/20250102T030405Z_isolate_INC-42.tar.gz --format json',
  ];
  static override args = { file: Args.string({ required: true, description: 'bundle file (.tar.gz or .tar)' }) };
  static override flags = {
    format: Flags.string({ char: 'f', options: ['md', 'json', 'html'], default: 'md', description: 'Report format' }),
    output: Flags.string({ char: 'o', helpValue: 'PATH', description: 'Write the report to this file (created mode 0600) instead of stdout' }),
  };

  async run(): Promise<ReportModel> {
    const { args, flags } = await this.parse(Report);
    const model = await reportFromBundle(args.file);
    const text = render(model, flags.format);
    if (flags.output) {
      await writeFile(flags.output, text, { mode: 0o600 });
      if (!this.jsonEnabled()) process.stdout.write(`wrote ${flags.format} report of ${args.file} to ${flags.output}\n`);
    } else if (!this.jsonEnabled()) {
      process.stdout.write(text);
    }
    return model;
  }
}

function render(model: ReportModel, format: string): string {
  if (format === 'html') return renderHtml(model);
  if (format === 'json') return `${JSON.stringify(model, null, 2)}\n`;
  return renderMarkdown(model);
}
