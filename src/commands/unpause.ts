import { Args } from '@oclif/core';
import { FirebreakCommand } from '../cli/base.js';
import { runFlags } from '../cli/flags.js';

export default class Unpause extends FirebreakCommand {
  static override summary = 'Thaw containers frozen by pause.';
  static override examples = ['<%= config.bin %> unpause web-1'];
  static override strict = false;
  static override args = { target: Args.string({ description: 'container names, ids or unique id prefixes' }) };
  static override flags = { ...runFlags };

  async run(): Promise<unknown> {
    const { argv, flags } = await this.parse(Unpause);
    return this.runPlaybookCommand('unpause', argv as string[], flags, {});
  }
}
