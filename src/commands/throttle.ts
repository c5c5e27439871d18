import { Args, Flags } from '@oclif/core';
import { FirebreakCommand } from '../cli/base.js';
import { runFlags } from '../cli/flags.js';
import { UsageError } from '../errors.js';
import { parseCpuShares, parseCpus, parseMemory, parseMemorySwap, parsePids } from '../steps/limits.js';

const parsers = {
  cpus: parseCpus,
  memory: parseMemory,
  'memory-swap': parseMemorySwap,
  pids: parsePids,
  'cpu-shares': parseCpuShares,
};
type LimitFlag = keyof typeof parsers;

const limitFlag = (options: { description: string; helpValue: string }) =>
  Flags.string({ ...options, exclusive: ['revert'] });

/** The limit flags given, each checked now so that `--memory 5x` is exit 2 before any engine call. */
function limitParams(flags: Partial<Record<LimitFlag, string>>): Record<string, string> {
  const given: Record<string, string> = {};
  for (const [name, parse] of Object.entries(parsers) as Array<[LimitFlag, (v: string) => unknown]>) {
    const value = flags[name];
    if (value === undefined) continue;
    try {
      parse(value);
    } catch (error) {
      throw new UsageError(`--${name}: ${(error as Error).message}`);
    }
    given[name] = value;
  }
  return given;
}

export default class Throttle extends FirebreakCommand {
  static override summary =
    'Limit CPU, memory and processes of containers, recording the previous limits; --revert restores them.';
  static override description =
    'Applies the limits with the Engine API update call and records the previous values in the bundle. --revert restores the ' +
    'values recorded by the newest throttle of each container that changed them (or by --from BUNDLE). Docker cannot lift a ' +
    'CPU or memory limit once set, so a revert to "no limit" sets the host\'s capacity instead, which limits nothing. ' +
    'Setting --memory alone sets memory-swap to twice memory, as docker run does. Safe to run twice.';
  static override examples = [
    '<%= config.bin %> throttle web-1 --cpus 0.5 --memory 512m --pids 100',
    '<%= config.bin %> throttle --filter ancestor=miner:latest --cpus 0.1 --yes',
    '<%= config.bin %> throttle web-1 --revert',
    '<%= config.bin %> throttle web-1 --revert --from evidence/20261129T031500Z_throttle_INC-7.tar.gz',
  ];
  static override strict = false;
  static override args = { target: Args.string({ description: 'container names, ids or unique id prefixes' }) };
  static override flags = {
    ...runFlags,
    cpus: limitFlag({ helpValue: 'N', description: 'CPUs to allow (0.5 is half of one)' }),
    memory: limitFlag({ helpValue: 'SIZE', description: 'Memory limit: 512m, 1g, 1.5g or bytes' }),
    'memory-swap': limitFlag({
      helpValue: 'SIZE',
      description: 'Memory plus swap, or =-1 for unlimited swap [default: 2 x --memory]',
    }),
    pids: limitFlag({ helpValue: 'N', description: 'Most processes at once; --pids=-1 for no limit' }),
    'cpu-shares': limitFlag({ helpValue: 'N', description: 'Relative CPU weight (1024 is the default)' }),
    revert: Flags.boolean({ description: 'Restore the limits recorded by an earlier throttle' }),
    from: Flags.string({
      dependsOn: ['revert'],
      description: 'Bundle that holds the record [default: newest for each container]',
    }),
  };

  async run(): Promise<unknown> {
    const { argv, flags } = await this.parse(Throttle);
    if (flags.revert) {
      return this.runPlaybookCommand(
        'throttle-revert',
        argv as string[],
        flags,
        flags.from ? { from: flags.from } : {},
        {
          recordOf: { uses: 'container.update', from: flags.from },
        },
      );
    }
    const limits = limitParams(flags);
    if (Object.keys(limits).length === 0) {
      throw new UsageError('give at least one of --cpus, --memory, --memory-swap, --pids, --cpu-shares, or --revert');
    }
    return this.runPlaybookCommand('throttle', argv as string[], flags, limits);
  }
}
