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

  async ping(): Promise<void> {
    await this.call.run('ping', () => this.docker.ping());
  }
}
