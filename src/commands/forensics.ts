import { Args, Flags } from '@oclif/core';
import { FirebreakCommand } from '../cli/base.js';
import { runFlags } from '../cli/flags.js';
import { UsageError } from '../errors.js';

export default class Forensics extends FirebreakCommand {
  static override summary = 'Collect evidence from containers into a verifiable bundle, changing nothing.';
  static override description =
    'Reads each target in order of volatility (processes, resource use, inspect, networks, logs with stdout and stderr ' +
    'apart, diff, the added and changed files, image, the whole filesystem) into one BagIt bundle. --pause freezes each ' +
    'target while it is read, so every file describes the same moment, and unpauses it afterwards whatever happens.';
  static override examples = [
    '<%= config.bin %> forensics web-1',
    '<%= config.bin %> forensics web-1 --pause --since 2h',
    '<%= config.bin %> forensics --filter ancestor=vulnerable/app:1.2 --no-export --tail 5000',
    '<%= config.bin %> forensics web-1 --compression none --evidence-dir /srv/evidence',
  ];
  static override strict = false;
  static override args = { target: Args.string({ description: 'container names, ids or unique id prefixes' }) };
  static override flags = {
    ...runFlags,
    pause: Flags.boolean({ description: 'Pause each container while it is read (a consistent snapshot); it is unpaused afterwards, also on failure or Ctrl-C' }),
    tail: Flags.string({ helpValue: 'N', description: 'Keep only the last N log lines [default: all]' }),
    since: Flags.string({ helpValue: 'TIME', description: 'Oldest log line: RFC 3339 date, Unix seconds, or a duration back from now (2h)' }),
    until: Flags.string({ helpValue: 'TIME', description: 'Newest log line, in the same forms' }),
    export: Flags.boolean({ default: true, allowNo: true, description: 'Export the whole filesystem (filesystem.tar); --no-export for a quick collection' }),
  };

  async run(): Promise<unknown> {
    const { argv, flags } = await this.parse(Forensics);
    if (flags.tail !== undefined && !/^(\d+|all)$/.test(flags.tail)) throw new UsageError(`--tail "${flags.tail}": expected a number of lines, or all`);
    const params = {
      export: flags.export,
      ...(flags.tail !== undefined ? { tail: flags.tail } : {}),
      ...(flags.since !== undefined ? { since: flags.since } : {}),
      ...(flags.until !== undefined ? { until: flags.until } : {}),
    };
    return this.runPlaybookCommand('forensics', argv as string[], flags, params, { freeze: flags.pause });
  }
}
