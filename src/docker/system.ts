import type Dockerode from 'dockerode';
import type { Call } from './client.js';
import type { EngineVersion } from './types.js';

export class SystemClient {
  constructor(
    private readonly docker: Dockerode,
    private readonly call: Call,
  ) {}

  async version(): Promise<EngineVersion> {
    const v = await this.call.run('version', () => this.docker.version());
    return { version: v.Version, apiVersion: v.ApiVersion, os: v.Os, arch: v.Arch };
  }

  /** What the host has: the most a container can use, and what "no limit" amounts to. */
  async capacity(): Promise<{ cpus: number; memory: number }> {
    const info = (await this.call.run('info', () => this.docker.info())) as { NCPU: number; MemTotal: number };
    return { cpus: info.NCPU, memory: info.MemTotal };
  }

}
