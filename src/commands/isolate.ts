import { Args, Flags } from '@oclif/core';
import { FirebreakCommand } from '../cli/base.js';
import { runFlags } from '../cli/flags.js';

export default class Isolate extends FirebreakCommand {
  static override summary = 'Cut containers off every network, keeping a record to put them back.';
  static override description =
    'Disconnects each target from all its networks (except --keep-network), recording network, aliases, addresses and MAC ' +
    'in the evidence bundle so that `restore-network` can reconnect it exactly. Safe to run twice.';
  static override examples = [
    '<%= config.bin %> isolate web-1',
    '<%= config.bin %> isolate web-1 web-2 --keep-network monitoring',
    '<%= config.bin %> isolate --filter ancestor=vulnerable/app:1.2 --yes',
    '<%= config.bin %> isolate web-1 --dry-run',
    '<%= config.bin %> isolate web-1 --context prod-eu',
    '<%= config.bin %> isolate web-1 us-1/db-1 --fleet fleet.yaml --select tier=web',
  ];
  static override strict = false;
  static override args = { target: Args.string({ description: 'container names, ids or unique id prefixes' }) };
  static override flags = {
    ...runFlags,
    'keep-network': Flags.string({
      multiple: true,
      multipleNonGreedy: true,
      description: 'Network to leave attached (repeatable)',
    }),
  };

  async run(): Promise<unknown> {
    const { argv, flags } = await this.parse(Isolate);
    return this.runPlaybookCommand(
      'isolate',
      argv as string[],
      flags,
      { 'keep-networks': flags['keep-network'] ?? [] },
      {
        paramFlags: { 'keep-networks': '--keep-network' },
      },
    );
  }
}
