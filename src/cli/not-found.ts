import type { Hook } from '@oclif/core';
import { visibleControls } from './terminal.js';

/**
 * "did you mean isolate?" for a mistyped command, through @oclif/plugin-not-found.
 *
 * With spaces between topic and command, oclif joins every leading word into the id it cannot
 * find, so `firebreak isolat web-1` reaches the plugin as the id `isolat:web-1`: it would then say
 * "isolat web-1 is not a firebreak command", measure the distance to every command from that whole
 * string, and off a TTY it suggests nothing and exits 127, outside our exit-code table. This hook
 * (the root plugin's own, which is why plugin-not-found is not listed in `oclif.plugins`) splits the
 * command word from its arguments first; on a TTY it hands both to the plugin, whose prompt runs
 * the suggestion with the arguments; otherwise, and when the prompt is declined, it prints one line
 * with the suggestion and exits 2, a usage error.
 */
const hook: Hook.CommandNotFound = async function (opts) {
  const { config } = opts;
  const words = opts.id.split(':');
  // `playbooks lst`: the topic is right, the command under it is not.
  const length = words.length > 1 && config.findTopic(words[0]!) ? 2 : 1;
  const typed = words.slice(0, length);
  const rest = argumentsAfter(typed) ?? [...words.slice(length), ...(opts.argv ?? [])];
  const visible = config.commands.filter((c) => !c.hidden).flatMap((c) => [c.id, ...c.aliases]);
  const suggestion = closest(typed.join(':'), visible);
  const spaced = (id: string) => id.split(':').join(' ');

  if (process.stdin.isTTY && process.stderr.isTTY && suggestion) {
    try {
      const { default: notFound } = await import('@oclif/plugin-not-found');
      return await notFound.call(this, { ...opts, id: typed.join(':'), argv: rest });
    } catch {
      // Declined or timed out: the one line below says what to type.
    }
  }
  const hint = suggestion ? `; did you mean ${spaced(suggestion)}?` : '';
  process.stderr.write(
    visibleControls(
      `firebreak: ${spaced(typed.join(':'))} is not a ${config.bin} command${hint} (${config.bin} help lists them)`,
    ) + '\n',
  );
  process.exitCode = 2;
  return undefined;
};

export default hook;

/**
 * The arguments as typed, after the mistyped words: taken from process.argv when it starts with
 * them, so an argument holding a colon (`web:1`) is not split as oclif's joined id would split it.
 */
function argumentsAfter(typed: string[]): string[] | undefined {
  const argv = process.argv.slice(2);
  return typed.every((word, i) => argv[i] === word) ? argv.slice(typed.length) : undefined;
}

/** The command id nearest to `typed` by edit distance, or '' when nothing is near enough to help. */
export function closest(typed: string, ids: string[]): string {
  let best = '';
  let bestDistance = Infinity;
  for (const id of ids) {
    const d = editDistance(typed, id);
    if (d < bestDistance) [best, bestDistance] = [id, d];
  }
  // Past half the word's length the "suggestion" is just some other command.
  return bestDistance <= Math.max(2, Math.ceil(typed.length / 2)) ? best : '';
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
