import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { bundleFromOutput, tempDir, unpackBundle } from './bundle-files.js';
import { runCli } from './cli.js';
import { createNetwork, inspectContainer, ipInSubnet, startContainer, uniqueName, useHarness } from './harness.js';

useHarness();

let evidence: string;
beforeEach(() => {
  evidence = tempDir();
});

async function containerOnTwoNetworks() {
  const front = await createNetwork({ subnet: 'random' });
  const back = await createNetwork({ subnet: 'random' });
  const fixed = ipInSubnet(front.subnet!, 10);
  const container = await startContainer({
    networks: [
      { name: front.name, aliases: ['web', 'www'], ipv4: fixed },
      { name: back.name, aliases: ['api'] },
    ],
  });
  return { front, back, fixed, container };
}

function attachments(info: Awaited<ReturnType<typeof inspectContainer>>) {
  return Object.fromEntries(
    Object.entries(info.NetworkSettings.Networks).map(([name, n]) => [
      name,
      { aliases: (n.Aliases ?? []).filter((a: string) => a !== info.Id.slice(0, 12)).sort(), ip: n.IPAddress },
    ]),
  );
}

describe('firebreak isolate', () => {
  it('disconnects a container from every network and restore-network puts back aliases and addresses', async () => {
    const { front, back, fixed, container } = await containerOnTwoNetworks();
    const before = attachments(await inspectContainer(container.name));
    expect(before[front.name]!.ip).toBe(fixed);

    const isolated = await runCli(['isolate', container.name, '--evidence-dir', evidence]);
    expect(isolated.stderr).not.toMatch(/firebreak:/);
    expect(isolated.code).toBe(0);
    expect(Object.keys((await inspectContainer(container.name)).NetworkSettings.Networks)).toEqual([]);

    const restored = await runCli(['restore-network', container.name, '--evidence-dir', evidence]);
    expect(restored.code).toBe(0);
    expect(attachments(await inspectContainer(container.name))).toEqual(before);
    expect(before[back.name]!.aliases).toEqual(['api']);
  });

  it('writes a bundle that unpacks with tar and verifies with sha256sum', async () => {
    const { container } = await containerOnTwoNetworks();
    const result = await runCli(['isolate', container.name, '--evidence-dir', evidence, '--incident', 'INC-42']);
    expect(result.code).toBe(0);
    const bundle = bundleFromOutput(result.stdout);
    expect(bundle.path).toMatch(/\d{8}T\d{6}Z_isolate_INC-42\.tar\.gz$/);
    expect(statSync(bundle.path).mode & 0o777).toBe(0o600);
    expect(statSync(evidence).mode & 0o777).toBe(0o700);
    expect(readFileSync(`${bundle.path}.sha256`, 'utf8')).toContain(bundle.sha256);

    const bag = unpackBundle(bundle.path);
    expect(bag.sha256Check('manifest-sha256.txt')).not.toMatch(/FAILED/);
    expect(bag.sha256Check('tagmanifest-sha256.txt')).not.toMatch(/FAILED/);
    expect(bag.read('bag-info.txt')).toMatch(/External-Identifier: INC-42/);
    const run = bag.json('data/run.json');
    expect(run.status).toBe('succeeded');
    expect(run.targets[0].steps.map((s: { id: string }) => s.id)).toEqual([
      'snapshot',
      'attachments',
      'disconnect',
      'verify',
    ]);
    const disconnect = run.targets[0].steps.find((s: { id: string }) => s.id === 'disconnect');
    expect(disconnect.undo.attachments).toHaveLength(2);
    expect(bag.json(`data/targets/${container.name}/inspect.json`).Id).toBe(container.id);
    expect(bag.read('data/journal.ndjson')).toMatch(/"msg":"run started"/);
    expect(bag.read('data/report.md')).toContain(container.name);
  });

  it('succeeds on an already isolated container and says so', async () => {
    const { container } = await containerOnTwoNetworks();
    expect((await runCli(['isolate', container.name, '--evidence-dir', evidence])).code).toBe(0);
    const again = await runCli(['isolate', container.name, '--evidence-dir', evidence]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/disconnect \(no change\): already isolated/);
  });

  it('leaves a container started with --network none as it is and calls it isolated', async () => {
    const container = await startContainer({ hostConfig: { NetworkMode: 'none' } });
    const result = await runCli(['isolate', container.name, '--evidence-dir', evidence]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/already isolated/);
    const info = await inspectContainer(container.name);
    expect(info.HostConfig.NetworkMode).toBe('none');
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual(['none']);
  });

  it("refuses a container that shares another container's network namespace and names that container", async () => {
    const owner = await startContainer();
    const guest = await startContainer({ hostConfig: { NetworkMode: `container:${owner.id}` } });
    const result = await runCli(['isolate', guest.name, '--evidence-dir', evidence]);
    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).toContain(`shares the network namespace of ${owner.id}`);
    expect((await inspectContainer(owner.name)).NetworkSettings.Networks).toHaveProperty('bridge');
  });

  it('keeps the networks named with --keep-network', async () => {
    const { front, back, container } = await containerOnTwoNetworks();
    const result = await runCli(['isolate', container.name, '--keep-network', back.name, '--evidence-dir', evidence]);
    expect(result.code).toBe(0);
    const networks = Object.keys((await inspectContainer(container.name)).NetworkSettings.Networks);
    expect(networks).toEqual([back.name]);
    expect(networks).not.toContain(front.name);
  });

  it('changes nothing and writes no bundle with --dry-run', async () => {
    const { container } = await containerOnTwoNetworks();
    const before = await inspectContainer(container.name);
    const result = await runCli(['isolate', container.name, '--dry-run', '--evidence-dir', evidence]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/dry run/);
    expect(result.stdout).toMatch(/network\.disconnect/);
    const after = await inspectContainer(container.name);
    expect(after.NetworkSettings.Networks).toEqual(before.NetworkSettings.Networks);
    expect(readdirSync(evidence)).toEqual([]);
  });

  it('prints exactly one JSON document on stdout with --json', async () => {
    const { container } = await containerOnTwoNetworks();
    const result = await runCli(['isolate', container.name, '--json', '--evidence-dir', evidence]);
    expect(result.code).toBe(0);
    const doc = JSON.parse(result.stdout);
    expect(doc.status).toBe('succeeded');
    expect(doc.bundle.path).toMatch(/\.tar\.gz$/);
    expect(doc.targets[0].name).toBe(container.name);
  });

  it('isolates every container a --filter selects, by id prefix too', async () => {
    const label = uniqueName('group');
    const net = await createNetwork();
    const a = await startContainer({ networks: [{ name: net.name }], labels: { 'firebreak.group': label } });
    const b = await startContainer({ networks: [{ name: net.name }], labels: { 'firebreak.group': label } });
    const c = await startContainer({ networks: [{ name: net.name }] });
    const result = await runCli([
      'isolate',
      '--filter',
      `label=firebreak.group=${label}`,
      c.id.slice(0, 12),
      '--evidence-dir',
      evidence,
    ]);
    expect(result.code).toBe(0);
    for (const container of [a, b, c]) {
      expect(Object.keys((await inspectContainer(container.name)).NetworkSettings.Networks)).toEqual([]);
    }
  });
});

describe('firebreak exit codes', () => {
  it('exits 4 when no container matches', async () => {
    const result = await runCli(['isolate', uniqueName('missing'), '--evidence-dir', evidence]);
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/no container matches "missing-/);
  });

  it('exits 3 when the engine is unreachable', async () => {
    const result = await runCli([
      'isolate',
      'web-1',
      '--host',
      'unix:///nonexistent/docker.sock',
      '--evidence-dir',
      evidence,
    ]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/cannot reach the Docker engine at unix:\/\/\/nonexistent\/docker.sock/);
  });

  it('exits 2 naming the file and YAML path for an unknown step type', async () => {
    const file = join(evidence, 'bad.yaml');
    writeFileSync(file, 'name: bad\nsteps:\n  - uses: evidence.inspect\n  - uses: network.teleport\n');
    const { container } = await containerOnTwoNetworks();
    const result = await runCli(['run', file, container.name, '--evidence-dir', evidence]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      new RegExp(`${file}:4:\\d+: steps\\[1\\]\\.uses: unknown step type "network.teleport"`),
    );
  });

  it('exits 2 naming the file and YAML path for a bad template', async () => {
    const file = join(evidence, 'bad-template.yaml');
    writeFileSync(file, 'name: bad\nsteps:\n  - uses: network.disconnect\n    with: { keep: "${{ params.nope }}" }\n');
    const result = await runCli(['playbooks', 'validate', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /steps\[0\]\.with\.keep: template \$\{\{ params\.nope \}\}: unknown parameter "nope"/,
    );
  });
});
