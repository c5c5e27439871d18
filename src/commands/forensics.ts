import { Args, Flags } from '@oclif/core';
import { FirebreakCommand } from '../cli/base.js';
import { runFlags } from '../cli/flags.js';
import { UsageError } from '../errors.js';
import { parseMemory } from '../steps/limits.js';

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
    '<%= config.bin %> forensics web-1 --files-max-bytes 10m --no-export',
  ];
  static override strict = false;
  static override args = { target: Args.string({ description: 'container names, ids or unique id prefixes' }) };
  static override flags = {
    ...runFlags,
    pause: Flags.boolean({
      description:
        'Pause each container while it is read (a consistent snapshot); it is unpaused afterwards, also on failure or Ctrl-C',
    }),
    tail: Flags.string({ helpValue: 'N', description: 'Keep only the last N log lines [default: all]' }),
    since: Flags.string({
      helpValue: 'TIME',
      description: 'Oldest log line: RFC 3339 date, Unix seconds, or a duration back from now (2h)',
    }),
    until: Flags.string({ helpValue: 'TIME', description: 'Newest log line, in the same forms' }),
    'files-max-bytes': Flags.string({
      helpValue: 'SIZE',
      description:
        'Cap on the changed files copied into files.tar: 512k, 10m, 1g or bytes; a file over what is left is left out and listed in files.json [default: 256m]',
    }),
    export: Flags.boolean({
      default: true,
      allowNo: true,
      description: 'Export the whole filesystem (filesystem.tar); --no-export for a quick collection',
    }),
  };

  async run(): Promise<unknown> {
    const { argv, flags } = await this.parse(Forensics);
    if (flags.tail !== undefined && !/^(\d+|all)$/.test(flags.tail))
      throw new UsageError(`--tail "${flags.tail}": expected a number of lines, or all`);
    if (flags['files-max-bytes'] !== undefined) checkSize('--files-max-bytes', flags['files-max-bytes']);
    const params = {
      export: flags.export,
      ...(flags['files-max-bytes'] !== undefined ? { 'files-max-bytes': flags['files-max-bytes'] } : {}),
      ...(flags.tail !== undefined ? { tail: flags.tail } : {}),
      ...(flags.since !== undefined ? { since: flags.since } : {}),
      ...(flags.until !== undefined ? { until: flags.until } : {}),
    };
    return this.runPlaybookCommand('forensics', argv as string[], flags, params, { freeze: flags.pause });
  }
}

/** Checked now, so a bad size is exit 2 under the flag's own name before any engine call. */
function checkSize(flag: string, value: string): void {
  let bytes: number;
  try {
    bytes = parseMemory(value);
  } catch (error) {
    throw new UsageError(`${flag}: ${(error as Error).message}`);
  }
  if (bytes <= 0) throw new UsageError(`${flag} "${value}": the cap must be more than 0 bytes`);
}
