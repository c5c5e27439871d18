import type Dockerode from 'dockerode';
import type { Endpoint } from './connect.js';
import { mapDockerError } from './errors.js';

/**
 * dockerode is loaded on first use: it costs over 100 ms to import, most of it for features
 * (BuildKit sessions over gRPC, ssh) that a containment run never touches.
 */
export async function createDockerode(endpoint: Endpoint): Promise<Dockerode> {
  const { default: Docker } = await import('dockerode');
  return new Docker(endpoint.options as Dockerode.DockerOptions);
}

/** Every Engine API call goes through here so that failures come back as our errors. */
export class Call {
  constructor(readonly endpoint: Endpoint) {}

  async run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw mapDockerError(error, what, this.endpoint.label);
    }
  }
}
