import { FirebreakCommand } from '../../cli/base.js';
import { jsonDocument } from '../../cli/json.js';
import { playbookJsonSchema } from '../../engine/schema.js';

export default class PlaybooksSchema extends FirebreakCommand {
  static override summary = 'Print the JSON Schema of the playbook format, for editors.';
  static override examples = ['<%= config.bin %> playbooks schema > playbook.schema.json'];

  async run(): Promise<unknown> {
    await this.parse(PlaybooksSchema);
    const schema = playbookJsonSchema();
    if (!this.jsonEnabled()) process.stdout.write(`${JSON.stringify(schema, null, 2)}\n`);
    return jsonDocument('playbook-schema', 'succeeded', { jsonSchema: schema });
  }
}
