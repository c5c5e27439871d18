// contrib/ansible/firebreak.yml run for real: ansible-playbook against two inventory hosts that are
// both this machine (local connection), so the run, the rsync pull (synchronize runs rsync even on
// a local connection), the verification on the controller and the summary are all exercised.
// `localhost` pauses a running container (exit 0); `stopped` tries to on a container that is not
// running (exit 1): that host must fail, yet its bundle must still come back and verify. A damaged
// bundle left earlier in `stopped`'s evidence folder comes back too, and must be reported unverified.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './bundle-files.js';
import { REPO_ROOT, RUN_JS, runCli } from './cli.js';
import { inspectContainer, startContainer, useHarness, type TestContainer } from './harness.js';

useHarness();

const PLAYBOOK = join(REPO_ROOT, 'contrib/ansible/firebreak.yml');
const INCIDENT = 'INC-ANSIBLE-1';
const DAMAGED = `20200101T000000Z_planted_${INCIDENT}.tar.gz`;
// Generous: ansible starts a Python process per task (about 45 s of CPU for this file in all); on
// a two-core machine shared with other sessions that took 3.5 min of wall time.
const ANSIBLE_TIMEOUT_MS = 300_000;

interface AnsibleRun {
  code: number | null;
  output: string;
}

function ansiblePlaybook(args: string[], cwd: string, extra: Record<string, string | undefined>): Promise<AnsibleRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  return new Promise((resolve, reject) => {
    execFile(
      'ansible-playbook',
      args,
      { cwd, env, timeout: ANSIBLE_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        if ((error as NodeJS.ErrnoException | null)?.code === 'ENOENT') {
          reject(
            new Error(
              "ansible-playbook is not installed: bash scripts/ensure-docker.sh installs Debian's ansible and rsync",
            ),
          );
        } else if (code === null) {
          reject(new Error(`ansible-playbook did not finish: ${error?.message}\n${stdout}\n${stderr}`));
        } else {
          resolve({ code, output: `${stdout}\n${stderr}` });
        }
      },
    );
  });
}

const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8).padStart(4, '0');

let running: TestContainer;
let stopped: TestContainer;
let controller: string;
let run: AnsibleRun;
let summary: any;
const incidentDir = () => join(controller, 'evidence', INCIDENT);
const hostOf = (name: string) => summary.hosts.find((h: { host: string }) => h.host === name);

beforeAll(async () => {
  running = await startContainer();
  stopped = await startContainer({ start: false });
  controller = tempDir('firebreak-ansible-');
  const remote = tempDir('firebreak-ansible-remote-');
  mkdirSync(join(remote, 'stopped'), { mode: 0o700 });
  writeFileSync(join(remote, 'stopped', DAMAGED), 'not a bundle\n', { mode: 0o600 });

  // A playbook given as a file, so the copy to the host is exercised too.
  writeFileSync(
    join(controller, 'snapshot-and-pause.yaml'),
    'name: snapshot-and-pause\ndescription: Save inspect, then pause.\nsteps:\n' +
      '  - id: snapshot\n    uses: evidence.inspect\n  - id: pause\n    uses: container.pause\n',
  );
  // Both hosts are this machine: each gets its own evidence folder and its own target, as two real
  // hosts would. ansible_playbook_python: the Python that has ansible, whatever python3 is on PATH.
  writeFileSync(
    join(controller, 'hosts.ini'),
    [
      '[all:vars]',
      'ansible_connection=local',
      'ansible_python_interpreter={{ ansible_playbook_python }}',
      `firebreak_bin=${RUN_JS}`,
      '[fleet]',
      `localhost targets=${running.name} remote_evidence_dir=${join(remote, 'localhost')}`,
      `stopped filter=name=^/${stopped.name}$ remote_evidence_dir=${join(remote, 'stopped')}`,
      '',
    ].join('\n'),
  );
  run = await ansiblePlaybook(
    ['-i', 'hosts.ini', PLAYBOOK, '-e', `incident=${INCIDENT}`, '-e', 'playbook=./snapshot-and-pause.yaml'],
    controller,
    {
      ANSIBLE_NOCOLOR: '1',
      ANSIBLE_LOCAL_TEMP: join(controller, '.ansible-local'),
      ANSIBLE_REMOTE_TEMP: join(controller, '.ansible-remote'),
      // As runCli does: vitest's NODE_ENV=test makes oclif load tsx in every firebreak child.
      NODE_ENV: undefined,
      FORCE_COLOR: undefined,
      NO_COLOR: '1',
    },
  );
  // Anything missing here is explained by ansible's own output.
  const summaries = existsSync(incidentDir())
    ? readdirSync(incidentDir()).filter((f) => /^ansible-\d{8}T\d{6}Z\.json$/.test(f))
    : [];
  expect(summaries, `one summary in ${incidentDir()}; ansible said:\n${run.output}`).toHaveLength(1);
  summary = JSON.parse(readFileSync(join(incidentDir(), summaries[0]!), 'utf8'));
}, ANSIBLE_TIMEOUT_MS + 30_000);

describe('the Ansible playbook in contrib/ansible', () => {
  it('fails the run because one host failed, and names that host, its exit code and why', () => {
    expect(run.code, run.output).toBe(2);
    expect(run.output).toMatch(/fatal: \[stopped\]: FAILED! => .*firebreak exited 1 on stopped: run (failed|error)/);
    expect(run.output).not.toMatch(/fatal: \[localhost\]/);
    expect(run.output).toMatch(/localhost\s+: ok=\d+ .*failed=0/);
  });

  it("pulls each host's evidence folder into <evidence>/<incident>/<host>/, folders 0700 and files 0600", () => {
    const written = [
      expect.stringMatching(/^\d{8}T\d{6}Z_snapshot-and-pause_INC-ANSIBLE-1\.tar\.gz$/),
      expect.stringMatching(/^\d{8}T\d{6}Z_snapshot-and-pause_INC-ANSIBLE-1\.tar\.gz\.sha256$/),
    ];
    expect(modeOf(join(controller, 'evidence'))).toBe('0700');
    expect(modeOf(incidentDir())).toBe('0700');
    for (const [host, expected] of [
      ['localhost', written],
      ['stopped', [DAMAGED, ...written]],
    ] as const) {
      const folder = join(incidentDir(), host);
      expect(modeOf(folder)).toBe('0700');
      // Beside the bundles, the folder of firebreak's holds (the pause on localhost placed one): private too.
      const entries = readdirSync(folder);
      if (entries.includes('holds')) expect(modeOf(join(folder, 'holds')), `${host}/holds`).toBe('0700');
      const files = entries.filter((name) => name !== 'holds').sort();
      expect(files).toEqual(expected);
      for (const file of files) expect(modeOf(join(folder, file)), `${host}/${file}`).toBe('0600');
    }
  });

  it('brings back bundles that verify with firebreak bundle verify on the controller, and says so', async () => {
    const verified = [hostOf('localhost').bundles[0], hostOf('stopped').bundles[1]];
    expect(verified).toEqual([
      expect.objectContaining({ verified: true, verifyExitCode: 0, problems: [] }),
      expect.objectContaining({ verified: true, verifyExitCode: 0, problems: [] }),
    ]);
    for (const [host, bundle] of [
      ['localhost', verified[0]],
      ['stopped', verified[1]],
    ]) {
      const verify = await runCli(['bundle', 'verify', join(incidentDir(), host, bundle.name)]);
      expect(verify.code, verify.stdout + verify.stderr).toBe(0);
      expect(verify.stdout).toMatch(/^verified .* all match$/m);
      expect(verify.stdout).toMatch(/matches .*\.sha256$/m);
    }
  });

  it('reports a pulled bundle that does not verify, with its problems, and fails that host', () => {
    expect(hostOf('stopped').bundles).toHaveLength(2);
    expect(hostOf('stopped').bundles[0]).toMatchObject({ name: DAMAGED, verified: false, verifyExitCode: 5 });
    expect(hostOf('stopped').bundles[0].problems).toContainEqual(expect.stringMatching(/cannot read .* as a tar/));
    expect(run.output).toMatch(/fatal: \[stopped\]: FAILED! => .*planted_INC-ANSIBLE-1\.tar\.gz\s+did not verify/);
    expect(hostOf('localhost').bundles).toHaveLength(1);
  });

  it("records each host's --json result and exit code in the summary on the controller", () => {
    const schema = JSON.parse(readFileSync(join(REPO_ROOT, 'contrib/ansible/summary.schema.json'), 'utf8'));
    const validate = new Ajv2020({ strict: true, allErrors: true }).compile(schema);
    expect(validate(summary), JSON.stringify(validate.errors)).toBe(true);
    expect(summary).toMatchObject({
      schema: 'firebreak.ansible/v1',
      status: 'failed',
      incident: INCIDENT,
      noResult: [],
    });
    expect(summary.hosts.map((h: { host: string }) => h.host).sort()).toEqual(['localhost', 'stopped']);

    const ok = hostOf('localhost');
    expect(ok).toMatchObject({ exitCode: 0, status: 'succeeded', folder: join(incidentDir(), 'localhost') });
    expect(ok.result).toMatchObject({ status: 'succeeded', incident: INCIDENT, playbook: 'snapshot-and-pause' });
    expect(ok.result.targets.map((t: { id: string }) => t.id)).toEqual([running.id]);
    expect(ok.result.bundle.path.split('/').pop()).toBe(ok.bundles[0].name);

    const failed = hostOf('stopped');
    expect(failed).toMatchObject({ exitCode: 1 });
    expect(failed.result.targets).toEqual([
      expect.objectContaining({
        id: stopped.id,
        steps: expect.arrayContaining([expect.objectContaining({ id: 'pause', status: 'failed' })]),
      }),
    ]);
  });

  it('acted through the engine: the running container is paused, the one not running is left as it was', async () => {
    expect((await inspectContainer(running.id)).State.Status).toBe('paused');
    expect((await inspectContainer(stopped.id)).State.Status).toBe('created');
  });
});
