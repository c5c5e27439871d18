import { afterAll, describe, expect, it } from 'vitest';
import {
  containerLogs,
  createNetwork,
  docker,
  FIXTURE_IMAGE,
  inspectContainer,
  inspectNetwork,
  ipInSubnet,
  removeAllCreated,
  startContainer,
  TEST_LABEL,
  useHarness,
  waitForExit,
} from './harness.js';

useHarness();

const statusOf = async (p: Promise<unknown>) =>
  p.then(
    () => 200,
    (error: { statusCode?: number }) => error.statusCode,
  );

describe('fixture image', () => {
  it('carries the test label and runs sh by default', async () => {
    const image = await docker().getImage(FIXTURE_IMAGE).inspect();
    expect(image.Config.Labels?.[TEST_LABEL]).toBe('1');
    expect(image.Config.Cmd).toEqual(['sh']);
  });

  it('runs echo hi and the harness reads its output back from the logs', async () => {
    const c = await startContainer({ cmd: ['echo', 'hi'] });
    expect(await waitForExit(c.id)).toBe(0);
    expect(await containerLogs(c.id)).toEqual({ stdout: 'hi\n', stderr: '' });
  });

  it('stops a default container within a second of SIGTERM', async () => {
    const c = await startContainer();
    const started = Date.now();
    await docker().getContainer(c.id).stop({ t: 10 });
    expect(Date.now() - started).toBeLessThan(2000);
    expect((await inspectContainer(c.id)).State.ExitCode).not.toBe(137);
  });
});

describe('networks', () => {
  it('attaches a container to two internal networks with aliases and fixed IPv4 addresses', async () => {
    const front = await createNetwork({ subnet: 'random' });
    const back = await createNetwork({ subnet: 'random' });
    const frontIp = ipInSubnet(front.subnet!, 10);
    const backIp = ipInSubnet(back.subnet!, 20);
    const c = await startContainer({
      networks: [
        { name: front.name, aliases: ['web'], ipv4: frontIp },
        { name: back.name, aliases: ['api', 'api-v1'], ipv4: backIp },
      ],
    });

    const info = await inspectContainer(c.name);
    expect(Object.keys(info.NetworkSettings.Networks).sort()).toEqual([back.name, front.name].sort());
    const onFront = info.NetworkSettings.Networks[front.name];
    const onBack = info.NetworkSettings.Networks[back.name];
    expect(onFront.IPAddress).toBe(frontIp);
    expect(onFront.IPAMConfig?.IPv4Address).toBe(frontIp);
    expect(onFront.Aliases).toContain('web');
    expect(onBack.IPAddress).toBe(backIp);
    expect(onBack.IPAMConfig?.IPv4Address).toBe(backIp);
    expect(onBack.Aliases).toEqual(expect.arrayContaining(['api', 'api-v1']));
    for (const n of [front, back]) {
      const net = await inspectNetwork(n.id);
      expect(net.Internal).toBe(true);
      expect(net.Labels?.[TEST_LABEL]).toBe('1');
    }
  });
});

describe('cleanup', () => {
  it('removes every container and network it created when asked', async () => {
    const net = await createNetwork();
    const c = await startContainer({ networks: [{ name: net.name }] });
    await removeAllCreated();
    expect(await statusOf(inspectContainer(c.id))).toBe(404);
    expect(await statusOf(inspectNetwork(net.id))).toBe(404);
    await removeAllCreated(); // nothing left to do, and no error for it
  });

  // The afterAll below runs after useHarness' afterEach, so it sees what that hook left behind.
  let fromFailedTest: { container: string; network: string } | undefined;
  afterAll(async () => {
    if (!fromFailedTest) return;
    expect(await statusOf(inspectContainer(fromFailedTest.container))).toBe(404);
    expect(await statusOf(inspectNetwork(fromFailedTest.network))).toBe(404);
  });

  it.fails('removes what a failing test created once that test ends', async () => {
    const net = await createNetwork();
    const c = await startContainer({ networks: [{ name: net.name }] });
    fromFailedTest = { container: c.id, network: net.id };
    expect('this test').toBe('failing on purpose');
  });
});
