import { Args, Flags } from '@oclif/core';
import { FirebreakCommand } from '../../cli/base.js';
import { oneEngineFlags, runFlags } from '../../cli/flags.js';
import { visibleControls } from '../../cli/terminal.js';
import { ExitCode, UsageError } from '../../errors.js';
import { showIncident } from '../../engine/incident.js';
import { renderIncidentHtml } from '../../report/incident-html.js';
import { renderIncidentMarkdown, type IncidentView } from '../../report/incident.js';

export default class IncidentShow extends FirebreakCommand {
  static override summary = 'Show every run of an incident as one timeline, with what is still to undo.';
  static override description =
    'Finds every bundle of the incident in the evidence folder and the fallback folder, verifies each, and joins their runs ' +
    'into one timeline across containers. Shows the state of each container now (asked of the engine; said so when it cannot be ' +
    'reached) and what is still to undo: an isolate without a later restore, a throttle without a revert, a pause without an ' +
    'unpause, with the exact command. Exit 5 when a bundle does not verify, 4 when the incident has no bundle.';
  static override examples = [
    '<%= config.bin %> incident show INC-7',
    '<%= config.bin %> incident show INC-7 --format html > INC-7.html',
    '<%= config.bin %> incident show INC-7 --json',
  ];
  static override args = { id: Args.string({ required: true, description: 'incident id, e.g. INC-7' }) };
  static override flags = {
    format: Flags.string({ char: 'f', options: ['md', 'html', 'json'], default: 'md', description: 'Output format' }),
    'evidence-dir': runFlags['evidence-dir'],
    ...oneEngineFlags,
  };

  async run(): Promise<IncidentView> {
    const { args, flags } = await this.parse(IncidentShow);
    if (args.id.trim() === '') throw new UsageError('the incident id is empty: give one, e.g. INC-7');
    const view = await showIncident({
      incident: args.id,
      evidenceDir: flags['evidence-dir'],
      host: flags.host,
      context: flags.context,
    });
    if (!this.jsonEnabled()) process.stdout.write(visibleControls(render(view, flags.format), true));
    if (view.status !== 'succeeded') this.setExitCode(ExitCode.verifyFailed);
    return view;
  }
}

function render(view: IncidentView, format: string): string {
  if (format === 'html') return renderIncidentHtml(view);
  if (format === 'json') return `${JSON.stringify(view, null, 2)}\n`;
  return renderIncidentMarkdown(view);
}
