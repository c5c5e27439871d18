import { Help } from '@oclif/core';
import { messageOf } from '../errors.js';
import { paramLines } from './params-text.js';
import { visibleControls } from './terminal.js';

/**
 * oclif's help, plus what only the playbook knows: `firebreak run isolate --help` (and
 * `firebreak help run isolate`) ends with the params of isolate, their types and defaults.
 */
export default class FirebreakHelp extends Help {
  override async showHelp(argv: string[]): Promise<void> {
    await super.showHelp(argv);
    const words = argv.filter((arg) => !arg.startsWith('-'));
    if (words[0] !== 'run' || !words[1]) return;
    const lines = await playbookParams(words[1]);
    this.log(visibleControls(['', `PARAMS OF ${words[1]}`, ...lines.map((line) => `  ${line}`)].join('\n'), true));
  }
}

async function playbookParams(reference: string): Promise<string[]> {
  try {
    const { loadPlaybook } = await import('../engine/loader.js');
    return paramLines(loadPlaybook(reference));
  } catch (error) {
    return [`cannot load the playbook: ${messageOf(error)}`];
  }
}
