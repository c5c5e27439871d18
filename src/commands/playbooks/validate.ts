import { Args } from '@oclif/core';
import { FirebreakCommand } from '../../cli/base.js';
import { jsonDocument } from '../../cli/json.js';
import { visibleControls } from '../../cli/terminal.js';
import { loadPlaybook } from '../../engine/loader.js';

export default class PlaybooksValidate extends FirebreakCommand {
  static override summary = 'Check a playbook file: schema, step types, inputs and templates.';
  static override description =
    'Exit 0 when valid; exit 2 with the file, line and YAML path of the first problem otherwise.';
  static override examples = ['<%= config.bin %> playbooks validate ./my-runbook.yaml'];
  static override args = { file: Args.string({ required: true, description: 'playbook file (or built-in name)' }) };

  async run(): Promise<unknown> {
    const { args } = await this.parse(PlaybooksValidate);
    const playbook = loadPlaybook(args.file);
    const count = (steps: typeof playbook.steps): number => steps.reduce((n, s) => n + 1 + count(s.steps ?? []), 0);
    const result = { valid: true, file: playbook.source, name: playbook.name, steps: count(playbook.steps) };
    if (!this.jsonEnabled())
      this.log(visibleControls(`${playbook.source}: valid playbook "${playbook.name}" with ${result.steps} steps`));
    return jsonDocument('playbook-check', 'succeeded', result);
  }
}
