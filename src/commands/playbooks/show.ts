import { Args } from '@oclif/core';
import { FirebreakCommand } from '../../cli/base.js';
import { jsonDocument } from '../../cli/json.js';
import { visibleControls } from '../../cli/terminal.js';
import { loadPlaybook } from '../../engine/loader.js';
import { paramLines } from '../../cli/params-text.js';

export default class PlaybooksShow extends FirebreakCommand {
  static override summary = 'Print a playbook (built-in name or file).';
  static override examples = ['<%= config.bin %> playbooks show isolate'];
  static override args = { playbook: Args.string({ required: true, description: 'built-in name or path' }) };

  async run(): Promise<unknown> {
    const { args } = await this.parse(PlaybooksShow);
    const playbook = loadPlaybook(args.playbook);
    // The params as YAML comments: the output stays a playbook that can be saved and edited.
    const params = ['# params:', ...paramLines(playbook).map((line) => `#   ${line}`)].join('\n');
    if (!this.jsonEnabled())
      process.stdout.write(visibleControls(`# ${playbook.source}\n${params}\n${playbook.text}`, true));
    const { text: _text, ...rest } = playbook;
    const playbookJson = JSON.parse(
      JSON.stringify(rest, (key, value) => (key === 'type' && typeof value === 'object' ? undefined : value)),
    ) as object;
    return jsonDocument('playbook', 'succeeded', { playbook: playbookJson });
  }
}
