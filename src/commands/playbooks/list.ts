import { FirebreakCommand } from '../../cli/base.js';
import { jsonDocument } from '../../cli/json.js';
import { visibleControls } from '../../cli/terminal.js';
import { builtInNames, loadPlaybook } from '../../engine/loader.js';

export default class PlaybooksList extends FirebreakCommand {
  static override summary = 'List the built-in playbooks.';
  static override examples = ['<%= config.bin %> playbooks list'];

  async run(): Promise<unknown> {
    await this.parse(PlaybooksList);
    const playbooks = builtInNames().map((name) => {
      const playbook = loadPlaybook(name);
      return { name, description: playbook.description ?? '', steps: playbook.steps.map((s) => s.uses) };
    });
    if (!this.jsonEnabled()) {
      const width = Math.max(...playbooks.map((p) => p.name.length));
      for (const p of playbooks) this.log(visibleControls(`${p.name.padEnd(width)}  ${p.description}`));
    }
    return jsonDocument('playbooks', 'succeeded', { playbooks });
  }
}
