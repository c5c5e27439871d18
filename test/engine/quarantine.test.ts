import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { bundleFromOutput, tempDir, unpackBundle } from './bundle-files.js';
import { runCli } from './cli.js';
import {
  containerLogs,
  docker,
  inspectContainer,
  startContainer,
  uniqueName,
  useHarness,
  waitForExit,
} from './harness.js';

useHarness();

let evidence: string;
beforeEach(() => {
  evidence = tempDir();
});

// Every run names its own incident; the images it commits carry it, which is how they are found and removed.
const incidents: string[] = [];
function newIncident(): string {
  const incident = uniqueName('INC-TEST');
  incidents.push(incident);
  return incident;
}

async function imagesOf(label: string) {
  return docker().listImages({ filters: JSON.stringify({ label: [label] }) });
}

afterAll(async () => {
  for (const incident of incidents) {
    for (const image of await imagesOf(`firebreak.incident=${incident}`)) {
      await docker()
        .getImage(image.Id)
        .remove({ force: true })
        .catch((error: { statusCode?: number }) => {
          if (error.statusCode !== 404) throw error;
        });
    }
  }
});

async function quarantine(target: string, ...args: string[]) {
  const result = await runCli(['quarantine', target, '--evidence-dir', evidence, ...args]);
  expect(result.stderr).not.toMatch(/firebreak:/);
  return result;
}

function stepsOf(stdout: string): Record<string, any> {
  const run = unpackBundle(bundleFromOutput(stdout).path).json('data/run.json');
  return Object.fromEntries(run.targets[0].steps.map((s: { id: string }) => [s.id, s]));
}

describe('firebreak quarantine', () => {
  it('keeps the filesystem as an image labelled with the incident and tagged with the run time, then stops the container', async () => {
    const c = await startContainer();
    await exec(c.id, ['sh', '-c', 'echo dropped-by-attacker > /tmp/implant']);
    const incident = newIncident();
    const repository = `fb-test/${uniqueName('q')}`;
    const result = await quarantine(c.name, '--incident', incident, '--repository', repository);
    expect(result.code).toBe(0);

    expect((await inspectContainer(c.name)).State.Status).toBe('exited');
    const steps = stepsOf(result.stdout);
    const image = await docker().getImage(steps.commit.outputs.image).inspect();
    expect(image.Config.Labels).toMatchObject({
      'firebreak.incident': incident,
      'firebreak.container': c.id,
      'firebreak.test': '1',
    });
    const stamp = /(\d{8}T\d{6}Z)_quarantine_/.exec(bundleFromOutput(result.stdout).path)![1];
    expect(image.RepoTags).toEqual([`${repository}:${stamp}`]);

    // The image holds what the attacker left: a container made from it finds the file.
    const copy = await startContainer({ image: image.Id, cmd: ['cat', '/tmp/implant'] });
    expect(await waitForExit(copy.id)).toBe(0);
    expect((await containerLogs(copy.id)).stdout).toBe('dropped-by-attacker\n');
  });

  it('tags quarantine/suspicious:<UTC timestamp> unless told another repository', async () => {
    const c = await startContainer();
    const result = await quarantine(c.name, '--incident', newIncident());
    expect(result.code).toBe(0);
    const tag = stepsOf(result.stdout).tag.outputs.reference;
    expect(tag).toMatch(/^quarantine\/suspicious:\d{8}T\d{6}Z$/);
    expect((await docker().getImage(tag).inspect()).Config.Labels?.['firebreak.container']).toBe(c.id);
  });

  it('collects evidence before it changes anything, in the bundle beside the record', async () => {
    const c = await startContainer({ cmd: ['sh', '-c', 'echo started; exec sleep 3600'] });
    const result = await quarantine(c.name, '--incident', newIncident());
    const bag = unpackBundle(bundleFromOutput(result.stdout).path);
    const ids = bag.json('data/run.json').targets[0].steps.map((s: { id: string }) => s.id);
    expect(ids.indexOf('snapshot')).toBeLessThan(ids.indexOf('commit'));
    expect(ids.slice(-4)).toEqual(['commit', 'tag', 'stop', 'verify']);
    expect(bag.json(`data/targets/${c.name}/inspect.json`).State.Status).toBe('running');
    expect(bag.json(`data/targets/${c.name}/top.json`)).toBeTruthy();
    expect(readdirSync(join(bag.dir, 'data/targets', c.name))).toEqual(
      expect.arrayContaining(['inspect.json', 'networks.json']),
    );
  });

  it('sends SIGKILL after --grace to a process that ignores SIGTERM, and records exit code 137', async () => {
    // Without an init, sleep is PID 1 and the kernel drops SIGTERM for it.
    const c = await startContainer({ init: false });
    const started = Date.now();
    const result = await quarantine(c.name, '--grace', '2s', '--incident', newIncident());
    expect(result.code).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    const info = await inspectContainer(c.name);
    expect(info.State.ExitCode).toBe(137);
    expect(stepsOf(result.stdout).stop.outputs['exit-code']).toBe(137);
    expect(result.stdout).toMatch(/stop: stopped in .*exit code 137 \(SIGKILL: still running 2s after SIGTERM\)/);
  });

  it('stops a process that honours SIGTERM without waiting out the grace', async () => {
    const c = await startContainer();
    const result = await quarantine(c.name, '--grace', '30s', '--incident', newIncident());
    expect(result.code).toBe(0);
    expect((await inspectContainer(c.name)).State.ExitCode).toBe(143);
    expect(stepsOf(result.stdout).stop.outputs['exit-code']).toBe(143);
  });

  it('succeeds on a stopped container, says it was already stopped, and commits it only once per incident', async () => {
    const c = await startContainer();
    await docker().getContainer(c.id).stop({ t: 5 });
    const incident = newIncident();
    const first = await quarantine(c.name, '--incident', incident);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/stop \(no change\): already stopped \(exited, exit code 143\)/);

    const second = await quarantine(c.name, '--incident', incident);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/commit \(no change\): already committed as [0-9a-f]{12}/);
    expect(stepsOf(second.stdout).commit.outputs.image).toBe(stepsOf(first.stdout).commit.outputs.image);
    expect(await imagesOf(`firebreak.incident=${incident}`)).toHaveLength(1);
  });

  it('sets the restart policy to no, so an engine restart does not bring the container back, recording the old one', async () => {
    const c = await startContainer({ restartPolicy: { Name: 'always', MaximumRetryCount: 0 } });
    const result = await quarantine(c.name, '--incident', newIncident());
    expect(result.code).toBe(0);
    const info = await inspectContainer(c.name);
    expect(info.State.Status).toBe('exited');
    expect(info.HostConfig.RestartPolicy?.Name).toBe('no');
    expect(stepsOf(result.stdout).stop.undo).toEqual({
      previous: 'running',
      restartPolicy: { name: 'always', maximumRetryCount: 0 },
    });
    expect(result.stdout).toMatch(/restart policy always -> no/);
  });

  it('changes nothing, commits nothing and writes no bundle with --dry-run', async () => {
    const c = await startContainer();
    const before = await inspectContainer(c.name);
    const result = await quarantine(
      c.name,
      '--dry-run',
      '--grace',
      '3s',
      '--repository',
      'fb-test/dry',
      '--incident',
      newIncident(),
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/commit \[container\.commit\] commit the filesystem/);
    expect(result.stdout).toMatch(/tag \[image\.tag\] tag <output commit\.image> as fb-test\/dry:\d{8}T\d{6}Z/);
    expect(result.stdout).toMatch(
      /stop \[container\.stop\] stop: SIGTERM, then SIGKILL after 3s; restart policy set to no/,
    );
    expect(await inspectContainer(c.name)).toEqual(before);
    expect(await imagesOf(`firebreak.container=${c.id}`)).toEqual([]);
    expect(readdirSync(evidence)).toEqual([]);
  });

  it('exits 2 on a grace it cannot read or a repository Docker would refuse', async () => {
    const c = await startContainer();
    // An incident, so that a commit made by mistake would still be found and removed.
    const grace = await runCli([
      'quarantine',
      c.name,
      '--grace',
      'soon',
      '--incident',
      newIncident(),
      '--evidence-dir',
      evidence,
    ]);
    expect(grace.code).toBe(2);
    expect(grace.stderr).toMatch(/grace: "soon" is not a duration/);
    const repository = await runCli([
      'quarantine',
      c.name,
      '--repository',
      'Bad/Name',
      '--incident',
      newIncident(),
      '--evidence-dir',
      evidence,
    ]);
    expect(repository.code).toBe(2);
    expect(repository.stderr).toMatch(/a repository is lower-case path components/);
    expect((await inspectContainer(c.name)).State.Status).toBe('running');
  });
});

describe('image.tag and assert.stopped', () => {
  it('succeeds when the tag already names the image, and says so', async () => {
    const c = await startContainer({ start: false });
    const incident = newIncident();
    const repository = `fb-test/${uniqueName('tag')}`;
    const file = join(evidence, 'keep.yaml');
    writeFileSync(
      file,
      'name: keep\nsteps:\n  - id: commit\n    uses: container.commit\n  - id: tag\n    uses: image.tag\n' +
        `    with: { image: "\${{ steps.commit.outputs.image }}", repository: ${repository}, tag: v1 }\n`,
    );
    expect((await runCli(['run', file, c.name, '--incident', incident, '--evidence-dir', evidence])).code).toBe(0);
    const again = await runCli(['run', file, c.name, '--incident', incident, '--evidence-dir', evidence]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`tag \\(no change\\): already tagged ${repository}:v1`));
    expect((await docker().getImage(`${repository}:v1`).inspect()).Config.Labels?.['firebreak.incident']).toBe(
      incident,
    );
  });

  it('assert.stopped fails on a running container', async () => {
    const c = await startContainer();
    const file = join(evidence, 'stopped.yaml');
    writeFileSync(file, 'name: stopped\nsteps:\n  - uses: assert.stopped\n');
    const result = await runCli(['run', file, c.name, '--evidence-dir', evidence]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/FAIL stopped: assert\.stopped on \S+: the container is running/);
  });
});

async function exec(id: string, cmd: string[]): Promise<void> {
  const run = await docker().getContainer(id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await run.start({});
  await new Promise((resolve) => {
    stream.on('end', resolve);
    stream.resume();
  });
}
