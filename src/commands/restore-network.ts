import { Args, Flags } from '@oclif/core';
import { FirebreakCommand } from '../cli/base.js';
import { runFlags } from '../cli/flags.js';

export default class RestoreNetwork extends FirebreakCommand {
  static override summary = 'Reconnect containers to the networks that isolate recorded.';
  static override description =
    'Reads the attachments recorded by network.disconnect (from --from BUNDLE, or the newest bundle of each container in ' +
    'the evidence folder) and reconnects with the same aliases, and the same addresses on networks with a configured subnet.';
  static override examples = [
    '<%= config.bin %> restore-network web-1',
    '<%= config.bin %> restore-network web-1 --from evidence/20261129T031500Z_isolate_INC-7.tar.gz',
  ];
  static override strict = false;
  static override args = { target: Args.string({ description: 'container names, ids or unique id prefixes' }) };
  static override flags = {
    ...runFlags,
    from: Flags.string({ description: 'Bundle that holds the record [default: newest for each container]' }),
  };

  async run(): Promise<unknown> {
    const { argv, flags } = await this.parse(RestoreNetwork);
    return this.runPlaybookCommand('restore-network', argv as string[], flags, flags.from ? { from: flags.from } : {}, {
      recordOf: { uses: 'network.disconnect', from: flags.from },
    });
  }
}
