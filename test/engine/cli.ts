// Runs the compiled CLI the way a user would: `node bin/run.js ...args`, no shell in between.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const RUN_JS = fileURLToPath(new URL('../../bin/run.js', import.meta.url));

export interface CliOptions {
  /** Added to (and overriding) the test process's environment. */
  env?: Record<string, string | undefined>;
  /** Written to stdin; stdin is closed either way so the CLI never waits on it. */
  input?: string | Buffer;
  cwd?: string;
  /** Kills the CLI and rejects after this long (default 50 s, under the 60 s test timeout). */
  timeoutMs?: number;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export async function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  if (!existsSync(RUN_JS)) throw new Error(`${RUN_JS} is missing; run \`npm run build\` first`);
  const timeoutMs = opts.timeoutMs ?? 50_000;
  // Vitest's workers may carry FORCE_COLOR; colour codes in output would break text assertions.
  // NODE_ENV=test (set by vitest) makes oclif register tsx in every child: twice the CPU per run,
  // and not the way a user runs the CLI.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FORCE_COLOR: undefined,
    NO_COLOR: '1',
    NODE_ENV: undefined,
    ...opts.env,
  };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];

  const child = spawn(process.execPath, [RUN_JS, ...args], { cwd: opts.cwd ?? REPO_ROOT, env, stdio: 'pipe' });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  // A CLI that exits without reading stdin makes the write fail with EPIPE; that is not our error.
  child.stdin.on('error', () => {});
  child.stdin.end(opts.input);

  return new Promise<CliResult>((resolve, reject) => {
    const text = (chunks: Buffer[]) => Buffer.concat(chunks).toString('utf8');
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `firebreak ${args.join(' ')} ran over ${timeoutMs} ms\nstdout: ${text(stdout)}\nstderr: ${text(stderr)}`,
        ),
      );
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    // 'close', not 'exit': it fires after stdout and stderr have been read to the end.
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: text(stdout), stderr: text(stderr) });
    });
  });
}

export interface StartedCli {
  pid: number;
  kill: (signal: NodeJS.Signals) => void;
  /** Resolves with each new stderr chunk's text until `test` is true of all stderr so far. */
  stderrMatches: (test: RegExp) => Promise<void>;
  done: Promise<CliResult>;
}

/**
 * The CLI as a child we can signal, unlike runCli which only waits for it. With `closeOutput`
 * its stdout and stderr are closed at once, as `firebreak ... 2>&1 | head -1` does after one line.
 */
export function startCli(
  args: string[],
  opts: { env?: Record<string, string | undefined>; closeOutput?: boolean } = {},
): StartedCli {
  if (!existsSync(RUN_JS)) throw new Error(`${RUN_JS} is missing; run \`npm run build\` first`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FORCE_COLOR: undefined,
    NO_COLOR: '1',
    NODE_ENV: undefined,
    ...opts.env,
  };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  const child = spawn(process.execPath, [RUN_JS, ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const watchers: Array<{ test: RegExp; resolve: () => void }> = [];
  const stderrText = () => Buffer.concat(err).toString('utf8');
  if (opts.closeOutput) {
    child.stdout.destroy();
    child.stderr.destroy();
  } else {
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      err.push(chunk);
      for (const w of watchers.splice(0)) w.test.test(stderrText()) ? w.resolve() : watchers.push(w);
    });
  }
  const done = new Promise<CliResult>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      for (const w of watchers.splice(0)) w.resolve();
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: stderrText() });
    });
  });
  return {
    pid: child.pid!,
    kill: (signal) => child.kill(signal),
    stderrMatches: (test) =>
      test.test(stderrText()) ? Promise.resolve() : new Promise((resolve) => watchers.push({ test, resolve })),
    done,
  };
}
