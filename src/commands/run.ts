import { Args, Flags } from '@oclif/core';
import { FirebreakCommand } from '../cli/base.js';
import { runFlags } from '../cli/flags.js';
import { paramFlagsOf, parseParamFlags } from '../engine/params.js';

export default class Run extends FirebreakCommand {
  static override summary = 'Run a playbook, built-in or from a YAML file, against containers.';
  static override examples = [
    '<%= config.bin %> run isolate web-1 --param keep-networks=monitoring',
    '<%= config.bin %> run ./playbooks/my-runbook.yaml web-1 --dry-run',
    '<%= config.bin %> run throttle --help   # the params of throttle, with types and defaults',
  ];
  static override strict = false;
  static override args = {
    playbook: Args.string({ required: true, description: 'built-in playbook name or path to a YAML file' }),
    target: Args.string({ description: 'container names, ids or unique id prefixes' }),
  };
  static override flags = {
    ...runFlags,
    param: Flags.string({
      char: 'p',
      multiple: true,
      multipleNonGreedy: true,
      helpValue: 'NAME=VALUE',
      description: 'Playbook parameter (repeatable)',
    }),
  };

  async run(): Promise<unknown> {
    const { args, argv, flags } = await this.parse(Run);
    const targets = (argv as string[]).slice(1);
    const params = parseParamFlags(flags.param ?? []);
    return this.runPlaybookCommand(args.playbook, targets, flags, params, { paramFlags: paramFlagsOf(params) });
  }
}
