// The oclif conventions people expect of a CLI: help, typos, completion, version.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { tempDir } from './bundle-files.js';
import { REPO_ROOT, runCli } from './cli.js';

const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('help, version and typos', () => {
  it('lists every command with firebreak help, and one command with help COMMAND', async () => {
    const root = await runCli(['help']);
    expect(root.code).toBe(0);
    for (const command of ['isolate', 'doctor', 'run', 'version', 'autocomplete', 'help'])
      expect(root.stdout).toMatch(new RegExp(`^  ${command} +\\S`, 'm'));
    expect(root.stdout).toMatch(
      /^TOPICS\n(?: {2}\S.*\n| {4,}.*\n)*? {2}bundle +.*\n(?: {2}\S.*\n| {4,}.*\n)*? {2}playbooks /m,
    );
    const one = await runCli(['help', 'isolate']);
    expect(one.code).toBe(0);
    expect(one.stdout).toContain('$ firebreak isolate');
    expect(one.stdout).toContain('--keep-network');
  });

  it('suggests isolate for isolat, without printing the arguments as part of a command id, and exits 2', async () => {
    const result = await runCli(['isolat', 'web-1']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'firebreak: isolat is not a firebreak command; did you mean isolate? (firebreak help lists them)\n',
    );
    expect(result.stdout + result.stderr).not.toContain('isolat:web-1');
    expect(result.stdout + result.stderr).not.toContain('isolat web-1');
    const topic = await runCli(['playbooks', 'lst']);
    expect(topic.stderr).toContain('did you mean playbooks list?');
    expect(topic.stderr).not.toContain('playbooks:');
  });

  it('answers firebreak version and --version with the version of package.json', async () => {
    const [command, flag] = await Promise.all([runCli(['version']), runCli(['--version'])]);
    expect(command.code).toBe(0);
    expect(command.stdout).toMatch(new RegExp(`^firebreak/${version.replace(/\./g, '\\.')} \\S+ node-v\\d+`));
    expect(flag.stdout).toBe(command.stdout);
  });

  it('lists the params of a playbook with types and defaults in run PLAYBOOK --help and playbooks show', async () => {
    const help = await runCli(['run', 'isolate', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^PARAMS OF isolate\n {2}--param keep-networks=VALUE +string-list +default: \[\]/m);
    const throttle = await runCli(['help', 'run', 'throttle']);
    expect(throttle.stdout).toMatch(/--param cpus=VALUE +string +optional +CPUs to allow/);
    const show = await runCli(['playbooks', 'show', 'isolate']);
    expect(show.stdout).toMatch(/^# params:\n# {3}--param keep-networks=VALUE +string-list +default: \[\]/m);
    // Still a playbook that can be saved and edited: the params are comments.
    expect((parse(show.stdout) as { name: string }).name).toBe('isolate');
  });
});

describe('shell completion', () => {
  it('completes commands, topics and flags in bash, and writes a zsh completion function', async () => {
    const cache = tempDir('firebreak-ac-');
    const env = { FIREBREAK_CACHE_DIR: cache };
    const built = await runCli(['autocomplete', '--refresh-cache'], { env });
    expect(built.code, built.stderr).toBe(0);
    const script = await runCli(['autocomplete', 'script', 'bash'], { env });
    expect(script.stdout).toContain(join(cache, 'autocomplete', 'bash_setup'));
    // The completion function itself, called as bash calls it on Tab.
    const complete = (words: string[]) => {
      const line = `COMP_WORDS=(${words.join(' ')}); COMP_CWORD=${words.length - 1}; _firebreak_autocomplete; echo "\${COMPREPLY[@]}"`;
      const bash = spawnSync('bash', ['-c', `source ${join(cache, 'autocomplete', 'bash_setup')}; ${line}`], {
        encoding: 'utf8',
      });
      expect(bash.status, bash.stderr).toBe(0);
      return bash.stdout.trim();
    };
    expect(complete(['firebreak', 'isol'])).toBe('isolate');
    expect(complete(['firebreak', 'doc'])).toBe('doctor');
    expect(complete(['firebreak', 'playbooks', 'sh'])).toBe('show');
    expect(complete(['firebreak', 'doctor', '--send'])).toBe('--send-test-alert');
    const zsh = readFileSync(join(cache, 'autocomplete', 'functions', 'zsh', '_firebreak'), 'utf8');
    expect(zsh.split('\n')[0]).toBe('#compdef firebreak');
    expect(zsh).toMatch(/"isolate\[Cut containers off every network/);
    expect(zsh).toMatch(/"doctor\[Check the setup/);
  });
});
