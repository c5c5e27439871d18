import { Args } from '@oclif/core';
import { FirebreakCommand } from '../cli/base.js';
import { runFlags } from '../cli/flags.js';

export default class Pause extends FirebreakCommand {
  static override summary = 'Freeze every process of the containers where they stand; unpause thaws them.';
  static override description =
    'Pausing (the cgroup freezer) stops all activity at once while keeping memory, files and connections for a later look: ' +
    'the quickest containment that destroys nothing. Safe to run twice.';
  static override examples = [
    '<%= config.bin %> pause web-1',
    '<%= config.bin %> pause --filter label=app=payments --yes',
  ];
  static override strict = false;
  static override args = { target: Args.string({ description: 'container names, ids or unique id prefixes' }) };
  static override flags = { ...runFlags };

  async run(): Promise<unknown> {
    const { argv, flags } = await this.parse(Pause);
    return this.runPlaybookCommand('pause', argv as string[], flags, {});
  }
}
