import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { runPlaybook } from '../../src/engine/run.js';
import { parsePlaybook } from '../../src/engine/loader.js';
import { silentProgress } from '../../src/engine/progress.js';
import { bundleFromOutput, tempDir, unpackBundle, type UnpackedBag } from './bundle-files.js';
import { runCli } from './cli.js';
import { containerLogs, docker, inspectContainer, startContainer, useHarness } from './harness.js';

useHarness();

let evidence: string;
beforeEach(() => {
  evidence = tempDir();
});

const TIMESTAMPED = (text: string) =>
  new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d+Z ${text}\\r?$`, 'm');

/** Polls until the container has printed `text` (its command ran that far). */
async function waitForOutput(name: string, text: string): Promise<void> {
  for (const started = Date.now(); Date.now() - started < 20_000;) {
    const { stdout, stderr } = await containerLogs(name);
    if (`${stdout}${stderr}`.includes(text)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${name} never printed "${text}"`);
}

async function forensics(args: string[]): Promise<{ bag: UnpackedBag; run: any; stdout: string }> {
  const result = await runCli(['forensics', ...args, '--evidence-dir', evidence]);
  expect(result.stderr).not.toMatch(/firebreak:/);
  expect(result.code).toBe(0);
  const bag = unpackBundle(bundleFromOutput(result.stdout).path);
  return { bag, run: bag.json('data/run.json'), stdout: result.stdout };
}

const tarList = (file: string) => execFileSync('tar', ['-tf', file], { encoding: 'utf8' }).split('\n').filter(Boolean);
const tarRead = (file: string, member: string) => execFileSync('tar', ['-xOf', file, member], { encoding: 'utf8' });
const stepOf = (run: any, id: string) => run.targets[0].steps.find((s: { id: string }) => s.id === id);

describe('firebreak forensics', () => {
  it('collects the processes, stats, separate logs, changed files and filesystem of a container that wrote files', async () => {
    const container = await startContainer({
      cmd: [
        'sh',
        '-c',
        'echo out-line; echo err-line >&2; echo secret > /tmp/evil.sh; mkdir -p /var/x; echo y > /var/x/y; echo written; sleep 3600',
      ],
    });
    await waitForOutput(container.name, 'written');
    const { bag, run } = await forensics([container.name]);
    const at = (file: string) => `data/targets/${container.name}/${file}`;

    expect(run.status).toBe('succeeded');
    expect(run.targets[0].steps.map((s: { id: string }) => s.id)).toEqual([
      'top',
      'stats',
      'inspect',
      'networks',
      'logs',
      'diff',
      'files',
      'image',
      'export',
    ]);
    expect(bag.sha256Check('manifest-sha256.txt')).not.toMatch(/FAILED/);
    // The bundle keeps the order of volatility: processes first, the filesystem last.
    const order = run.artifacts.map((a: { path: string }) => a.path.split('/').pop());
    expect(order.slice(0, 4)).toEqual(['top.json', 'stats.json', 'inspect.json', 'networks.json']);
    expect(order.indexOf('filesystem.tar')).toBeGreaterThan(order.indexOf('files.tar'));

    const top = bag.json(at('top.json'));
    expect(top.Processes.map((p: string[]) => p.at(-1))).toContain('sleep 3600');
    const stats = bag.json(at('stats.json'));
    expect(stats.memory_stats.usage).toBeGreaterThan(0);
    expect(stats.pids_stats.current).toBeGreaterThanOrEqual(2);

    const stdout = bag.read(at('logs.stdout.log'));
    const stderr = bag.read(at('logs.stderr.log'));
    expect(stdout).toMatch(TIMESTAMPED('out-line'));
    expect(stdout).not.toContain('err-line');
    expect(stderr).toMatch(TIMESTAMPED('err-line'));
    expect(stderr).not.toContain('out-line');

    const diff = bag.json(at('diff.json'));
    expect(diff).toEqual(
      expect.arrayContaining([
        { path: '/tmp', kind: 'changed' },
        { path: '/tmp/evil.sh', kind: 'added' },
        { path: '/var/x', kind: 'added' },
        { path: '/var/x/y', kind: 'added' },
      ]),
    );

    const files = join(bag.dir, at('files.tar'));
    expect(tarList(files)).toEqual(expect.arrayContaining(['tmp/evil.sh', 'var/x/', 'var/x/y']));
    // /var/x/y came with its added directory, once.
    expect(tarList(files).filter((name) => name === 'var/x/y')).toHaveLength(1);
    expect(tarRead(files, 'tmp/evil.sh')).toBe('secret\n');
    const record = bag.json(at('files.json'));
    expect(record.collected.map((c: { path: string }) => c.path)).toEqual(
      expect.arrayContaining(['/tmp/evil.sh', '/var/x']),
    );
    expect(record.collected).toContainEqual({
      path: '/var/x/y',
      kind: 'added',
      type: 'file',
      bytes: 2,
      within: '/var/x',
    });

    expect(tarList(join(bag.dir, at('filesystem.tar')))).toContain('tmp/evil.sh');
    expect(tarRead(join(bag.dir, at('filesystem.tar')), 'var/x/y')).toBe('y\n');
    const info = await inspectContainer(container.name);
    expect(bag.json(at('image.json')).Id).toBe(info.Image);
    expect(bag.json(at('history.json')).length).toBeGreaterThan(0);
    expect(run.targets[0].steps.every((s: { status: string }) => s.status === 'succeeded')).toBe(true);
  });

  it('keeps the whole log of a TTY container in logs.stdout.log and says why', async () => {
    const container = await startContainer({
      tty: true,
      cmd: ['sh', '-c', 'echo tty-out; echo tty-err >&2; sleep 3600'],
    });
    await waitForOutput(container.name, 'tty-err');
    const { bag, run } = await forensics([container.name, '--no-export']);
    const log = bag.read(`data/targets/${container.name}/logs.stdout.log`);
    expect(log).toMatch(TIMESTAMPED('tty-out'));
    expect(log).toMatch(TIMESTAMPED('tty-err'));
    expect(existsSync(join(bag.dir, `data/targets/${container.name}/logs.stderr.log`))).toBe(false);
    expect(stepOf(run, 'logs').outputs.tty).toBe(true);
    expect(stepOf(run, 'logs').note).toMatch(/TTY container: stdout and stderr are one stream/);
  });

  it('keeps only the log lines asked for with --tail and --since', async () => {
    const container = await startContainer({
      cmd: ['sh', '-c', 'echo first; sleep 1.5; echo second; echo third; sleep 3600'],
    });
    await waitForOutput(container.name, 'third');
    const logs = (await docker().getContainer(container.name).logs({ stdout: true, timestamps: true })).toString(
      'utf8',
    );
    const secondAt = /(\d{4}-\d\d-\d\dT[\d:.]+Z) second/.exec(logs)![1]!;

    const tail = await forensics([container.name, '--no-export', '--tail', '1']);
    expect(tail.bag.read(`data/targets/${container.name}/logs.stdout.log`)).toMatch(/^\S+ third\n$/);

    const since = await forensics([container.name, '--no-export', '--since', secondAt]);
    const text = since.bag.read(`data/targets/${container.name}/logs.stdout.log`);
    expect(text).toMatch(TIMESTAMPED('second'));
    expect(text).not.toContain('first');
    expect(stepOf(since.run, 'logs').outputs.since).toBe(new Date(secondAt).toISOString());
  });

  it('copies nothing over max-bytes, names deleted paths, and says why in files.json', async () => {
    const container = await startContainer({
      cmd: [
        'sh',
        '-c',
        'head -c 5000 /dev/zero > /tmp/big.bin; echo small > /tmp/small.txt; rm /etc/group; echo written; sleep 3600',
      ],
    });
    await waitForOutput(container.name, 'written');
    const result = await runCli([
      'run',
      'forensics',
      container.name,
      '-p',
      'files-max-bytes=1000',
      '-p',
      'export=false',
      '--evidence-dir',
      evidence,
    ]);
    expect(result.code).toBe(0);
    const bag = unpackBundle(bundleFromOutput(result.stdout).path);
    const record = bag.json(`data/targets/${container.name}/files.json`);
    expect(record.maxBytes).toBe(1000);
    const reason = (list: Array<{ path: string; reason: string }>, path: string) =>
      list.find((s) => s.path === path)?.reason;
    expect(reason(record.leftOut, '/tmp/big.bin')).toMatch(/^over the size cap: 4\.9 KiB/);
    expect(reason(record.skipped, '/etc/group')).toMatch(/^deleted/);
    const names = tarList(join(bag.dir, `data/targets/${container.name}/files.tar`));
    expect(names).toContain('tmp/small.txt');
    expect(names).not.toContain('tmp/big.bin');
  });

  it('leaves out only the files over --files-max-bytes, collects every small file around them, and says so', async () => {
    // Sort order matters: small files before and after each big one, at the top level and inside
    // an added directory (fetched as one archive), and a hard link to a big file.
    const script = [
      'echo a > /tmp/0-small.txt',
      'head -c 50000 /dev/zero > /tmp/big.bin',
      'echo z > /tmp/zz-small.txt',
      'mkdir -p /data/sub',
      'echo a > /data/a-small.txt',
      'head -c 50000 /dev/zero > /data/m-big.bin',
      'ln /data/m-big.bin /data/n-link',
      'echo z > /data/z-small.txt',
      'echo s > /data/sub/s.txt',
      'echo written',
      'sleep 3600',
    ].join('; ');
    const container = await startContainer({ cmd: ['sh', '-c', script] });
    await waitForOutput(container.name, 'written');
    const { bag, stdout } = await forensics([container.name, '--files-max-bytes', '10k', '--no-export']);
    const at = (file: string) => `data/targets/${container.name}/${file}`;

    const names = tarList(join(bag.dir, at('files.tar')));
    for (const small of [
      'tmp/0-small.txt',
      'tmp/zz-small.txt',
      'data/',
      'data/a-small.txt',
      'data/z-small.txt',
      'data/sub/',
      'data/sub/s.txt',
    ]) {
      expect(names).toContain(small);
    }
    for (const big of ['tmp/big.bin', 'data/m-big.bin', 'data/n-link']) expect(names).not.toContain(big);
    expect(tarRead(join(bag.dir, at('files.tar')), 'data/z-small.txt')).toBe('z\n');

    const diff: Array<{ path: string }> = bag.json(at('diff.json'));
    const record = bag.json(at('files.json'));
    const listed = [...record.collected, ...record.leftOut, ...record.skipped].map((e: { path: string }) => e.path);
    expect(listed.sort()).toEqual(diff.map((c) => c.path).sort());
    expect(record.leftOut.map((e: { path: string }) => e.path).sort()).toEqual([
      '/data/m-big.bin',
      '/data/n-link',
      '/tmp/big.bin',
    ]);
    expect(record.leftOut.find((e: { path: string }) => e.path === '/data/m-big.bin')).toMatchObject({
      size: 50000,
      within: '/data',
      reason: expect.stringMatching(/^over the size cap: 48\.8 KiB/),
    });
    expect(record.leftOut.find((e: { path: string }) => e.path === '/data/n-link').reason).toBe(
      'hard link to /data/m-big.bin, which was left out',
    );
    expect(record.collected).toContainEqual({
      path: '/data/z-small.txt',
      kind: 'added',
      type: 'file',
      bytes: 2,
      within: '/data',
    });
    expect(record.maxBytes).toBe(10 * 1024);

    expect(stdout).toMatch(
      /files: \d+ collected \(10 B\), 3 left out over the 10\.0 KiB cap, \d+ skipped; see files\.json/,
    );
    expect(bag.read('data/report.md')).toMatch(/3 left out over the 10\.0 KiB cap/);
  });

  it('exits 2 naming --files-max-bytes when it is not a size', async () => {
    const container = await startContainer();
    const result = await runCli([
      'forensics',
      container.name,
      '--files-max-bytes',
      '10 parsecs',
      '--evidence-dir',
      evidence,
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toMatch(/^firebreak: --files-max-bytes: "10 parsecs" is not a size/);
    expect(readdirSync(evidence)).toEqual([]);
  });

  it('pauses the container while it reads with --pause and leaves it running afterwards', async () => {
    const container = await startContainer();
    const { bag, run } = await forensics([container.name, '--pause', '--no-export']);
    const steps = run.targets[0].steps;
    expect(steps[0]).toMatchObject({ id: 'freeze', uses: 'container.pause', status: 'succeeded', changed: true });
    expect(steps.at(-1)).toMatchObject({ id: 'thaw', uses: 'container.unpause', status: 'succeeded', changed: true });
    // inspect.json was read while frozen; top works on a paused container (the engine runs ps on the host).
    expect(bag.json(`data/targets/${container.name}/inspect.json`).State.Paused).toBe(true);
    expect(bag.json(`data/targets/${container.name}/top.json`).Processes.length).toBeGreaterThan(0);
    const after = await inspectContainer(container.name);
    expect(after.State).toMatchObject({ Running: true, Paused: false });
  });

  it('leaves a container that someone else paused paused, and says so', async () => {
    const container = await startContainer();
    await docker().getContainer(container.name).pause();
    try {
      const { run } = await forensics([container.name, '--pause', '--no-export']);
      expect(run.targets[0].steps[0]).toMatchObject({ id: 'freeze', status: 'succeeded', changed: false });
      expect(run.targets[0].steps.at(-1)).toMatchObject({ id: 'thaw', status: 'succeeded', changed: false });
      expect((await inspectContainer(container.name)).State.Paused).toBe(true);
    } finally {
      await docker().getContainer(container.name).unpause();
    }
  });

  it('unpauses a paused target when a step fails, and the run says which step', async () => {
    const container = await startContainer();
    // Any run can freeze through the RunRequest; a 1 ms timeout makes the export fail for sure.
    const playbook = parsePlaybook(
      'name: freeze-then-fail\nsteps:\n  - uses: evidence.inspect\n  - uses: evidence.export\n    timeout: 1ms\n',
      'test.yaml',
    );
    const outcome = await runPlaybook({
      playbook,
      params: {},
      references: [container.name],
      filters: [],
      evidenceDir: evidence,
      dryRun: false,
      concurrency: 1,
      compression: 'none',
      logLevel: 'warn',
      signal: new AbortController().signal,
      progress: silentProgress,
      freeze: true,
    });
    expect(outcome.exitCode).toBe(1);
    const steps = outcome.record!.targets[0]!.steps;
    expect(steps.map((s) => `${s.id}:${s.status}`)).toEqual([
      'freeze:succeeded',
      'inspect:succeeded',
      'export:failed',
      'thaw:succeeded',
    ]);
    expect(steps[2]!.error).toMatch(/timed out after 1ms/);
    expect((await inspectContainer(container.name)).State).toMatchObject({ Running: true, Paused: false });
  });

  it('collects what a stopped container still has and says it has no processes', async () => {
    const container = await startContainer({ cmd: ['sh', '-c', 'echo bye > /tmp/last; echo gone; exit 3'] });
    await docker().getContainer(container.name).wait();
    const { bag, run } = await forensics([container.name, '--pause']);
    expect(run.status).toBe('succeeded');
    expect(stepOf(run, 'freeze').note).toBe('not running: nothing to freeze');
    expect(stepOf(run, 'top')).toMatchObject({ status: 'succeeded', outputs: { processes: 0 } });
    expect(existsSync(join(bag.dir, `data/targets/${container.name}/top.json`))).toBe(false);
    expect(bag.read(`data/targets/${container.name}/logs.stdout.log`)).toMatch(TIMESTAMPED('gone'));
    expect(tarRead(join(bag.dir, `data/targets/${container.name}/files.tar`), 'tmp/last')).toBe('bye\n');
    expect(bag.json(`data/targets/${container.name}/inspect.json`).State.ExitCode).toBe(3);
  });

  it('plans the collection with --dry-run and writes nothing', async () => {
    const container = await startContainer();
    const result = await runCli(['forensics', container.name, '--dry-run', '--tail', '50', '--evidence-dir', evidence]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/evidence\.logs\] save logs\.stdout\.log and logs\.stderr\.log \(last 50 lines\)/);
    expect(result.stdout).toMatch(/evidence\.export\] save filesystem\.tar/);
    expect(readdirSync(evidence)).toEqual([]);
  });

  it('exits 2 naming the problem for a --since that is not a time', async () => {
    const container = await startContainer();
    const result = await runCli(['forensics', container.name, '--since', 'yesterday-ish', '--evidence-dir', evidence]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--since "yesterday-ish": expected a duration/);
  });
});
