import { writeFile } from 'node:fs/promises';
import { Args, Flags } from '@oclif/core';
import { FirebreakCommand, interruptOn } from '../cli/base.js';
import { renderDrillReport } from '../cli/drill-render.js';
import { oneEngineFlags, runFlags } from '../cli/flags.js';
import { visibleControls } from '../cli/terminal.js';
import { UsageError } from '../errors.js';
import type { LogLevel } from '../log.js';
import { parseParamFlags } from '../engine/params.js';

export default class Drill extends FirebreakCommand {
  static override summary =
    'Rehearse a playbook on a sacrificial container, check its expectations, time it, clean up.';
  static override description =
    'Creates the scenario (labelled firebreak.drill=<id>, on internal networks) from a local image, runs the playbook ' +
    "through the normal engine path (a bundle per run), checks the playbook's expect list against the engine, and " +
    'removes everything it created, also after a failure or Ctrl-C (unless --keep). Exit 0 only when every expectation holds.';
  static override examples = [
    '<%= config.bin %> drill isolate --image busybox:latest',
    '<%= config.bin %> drill throttle --repeat 5',
    '<%= config.bin %> drill --all --junit drill.xml',
    '<%= config.bin %> drill forensics --scenario fat --json',
  ];
  static override args = {
    playbook: Args.string({ description: 'built-in playbook name or path to a YAML file' }),
  };
  static override flags = {
    all: Flags.boolean({
      description: 'Drill every built-in playbook against its default scenario',
      exclusive: ['scenario'],
    }),
    scenario: Flags.string({ description: "Scenario name (scenarios/) or YAML file [default: the playbook's own]" }),
    image: Flags.string({
      env: 'FIREBREAK_DRILL_IMAGE',
      default: 'busybox:latest',
      description: 'Image of the sacrificial container; must be on the engine already (never pulled) and have sh',
    }),
    repeat: Flags.integer({
      default: 1,
      min: 1,
      max: 1000,
      description: 'Drill each playbook N times; reports min, median, p95, max',
    }),
    concurrency: Flags.integer({
      default: 1,
      min: 1,
      max: 16,
      description: 'Playbooks drilled at once with --all (faster; their timings then include each other)',
    }),
    junit: Flags.string({ helpValue: 'FILE', description: 'Write a JUnit XML report for CI' }),
    keep: Flags.boolean({ description: 'Leave the sacrificial containers and networks for a look' }),
    param: Flags.string({
      char: 'p',
      multiple: true,
      multipleNonGreedy: true,
      helpValue: 'NAME=VALUE',
      description: "Playbook parameter (repeatable), over the scenario's own",
    }),
    ...oneEngineFlags,
    'evidence-dir': runFlags['evidence-dir'],
    compression: runFlags.compression,
    'log-level': runFlags['log-level'],
  };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(Drill);
    if (!args.playbook && !flags.all) throw new UsageError('name a playbook to drill, or give --all');
    if (args.playbook && flags.all) throw new UsageError('give a playbook or --all, not both');
    const { planAllDrills, planDrill } = await import('../engine/drill/plan.js');
    const params = parseParamFlags(flags.param ?? []);
    const plans = flags.all
      ? planAllDrills(params)
      : [planDrill(args.playbook!, { ...(flags.scenario ? { scenario: flags.scenario } : {}), params })];
    const json = this.jsonEnabled();
    const controller = new AbortController();
    const stopSignals = interruptOn(controller);
    try {
      const { exitCodeOfDrills, runDrills } = await import('../engine/drill/suite.js');
      const report = await runDrills({
        plans,
        image: flags.image,
        repeat: flags.repeat,
        concurrency: flags.concurrency,
        ...(flags.host ? { host: flags.host } : {}),
        ...(flags.context ? { context: flags.context } : {}),
        evidenceDir: flags['evidence-dir'],
        compression: flags.compression as 'gzip' | 'none',
        logLevel: flags['log-level'] as LogLevel,
        keep: flags.keep === true,
        signal: controller.signal,
        say: (line) => {
          if (!json) process.stderr.write(`${visibleControls(line)}\n`);
        },
      });
      if (flags.junit) {
        const { renderJunit } = await import('../engine/drill/junit.js');
        await writeFile(flags.junit, renderJunit(report));
      }
      this.setExitCode(exitCodeOfDrills(report));
      if (!json) process.stdout.write(renderDrillReport(report));
      return report;
    } finally {
      stopSignals();
    }
  }
}
