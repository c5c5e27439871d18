import { Args, Flags } from '@oclif/core';
import { FirebreakCommand } from '../cli/base.js';
import { runFlags } from '../cli/flags.js';
import { UsageError } from '../errors.js';

export default class Quarantine extends FirebreakCommand {
  static override summary =
    "Collect evidence, keep the container's filesystem as a tagged image, then stop the container.";
  static override description =
    'Evidence first (processes, resource use, inspect, networks, log tail, changed paths), then commits the filesystem to an ' +
    'image labelled firebreak.incident=<incident> and tagged <repository>:<UTC run start>, then stops the container (SIGTERM, ' +
    'SIGKILL after --grace) and sets its restart policy to no, so an engine restart does not bring it back. Volumes are ' +
    'not part of the image. Safe to run twice: a stopped container stays stopped and, within one --incident, is not committed again.';
  static override examples = [
    '<%= config.bin %> quarantine web-1',
    '<%= config.bin %> quarantine web-1 --grace 30s --repository registry.local/quarantine --incident INC-7',
    '<%= config.bin %> quarantine --filter ancestor=vulnerable/app:1.2 --dry-run',
  ];
  static override strict = false;
  static override args = { target: Args.string({ description: 'container names, ids or unique id prefixes' }) };
  static override flags = {
    ...runFlags,
    grace: Flags.string({ default: '10s', description: 'Time between SIGTERM and SIGKILL (10s, 1m; at most 5m)' }),
    repository: Flags.string({ default: 'quarantine/suspicious', description: 'Repository of the quarantine tag' }),
  };

  async run(): Promise<unknown> {
    const { argv, flags } = await this.parse(Quarantine);
    // Checked here: the tag step reads the commit's output, so the plan cannot check its inputs before the run.
    const { repositoryProblem } = await import('../steps/image.js');
    const problem = repositoryProblem(flags.repository);
    if (problem) throw new UsageError(`--repository "${flags.repository}": ${problem}`);
    return this.runPlaybookCommand('quarantine', argv as string[], flags, {
      grace: flags.grace,
      repository: flags.repository,
    });
  }
}
