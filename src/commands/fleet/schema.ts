import { FirebreakCommand } from '../../cli/base.js';
import { fleetJsonSchema } from '../../engine/fleet-file.js';

export default class FleetSchema extends FirebreakCommand {
  static override summary = 'Print the JSON Schema of the fleet file format (--fleet FILE), for editors and CI.';
  static override examples = ['<%= config.bin %> fleet schema > fleet.schema.json'];

  async run(): Promise<unknown> {
    await this.parse(FleetSchema);
    const schema = fleetJsonSchema();
    if (!this.jsonEnabled()) process.stdout.write(`${JSON.stringify(schema, null, 2)}\n`);
    return schema;
  }
}
