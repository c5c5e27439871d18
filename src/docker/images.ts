import type Dockerode from 'dockerode';
import type { Call } from './client.js';

export interface ImageSummary {
  id: string;
  tags: string[];
  labels: Record<string, string>;
  created: Date;
}

export class ImageClient {
  constructor(
    private readonly docker: Dockerode,
    private readonly call: Call,
  ) {}

  async inspect(image: string): Promise<unknown> {
    return this.call.run(`inspect image ${image}`, () => this.docker.getImage(image).inspect());
  }

  async history(image: string): Promise<unknown> {
    return this.call.run(`history of image ${image}`, () => this.docker.getImage(image).history());
  }

  async tag(image: string, repo: string, tag: string): Promise<void> {
    await this.call.run(`tag ${image} as ${repo}:${tag}`, () => this.docker.getImage(image).tag({ repo, tag }));
  }

  /** Images matching Engine API filters (e.g. `label: ['firebreak.incident=INC-7']`), newest first. */
  async list(filters: Record<string, string[]>): Promise<ImageSummary[]> {
    const rows = await this.call.run('list images', () => this.docker.listImages({ filters: JSON.stringify(filters) } as object));
    return rows
      .map((row) => ({ id: row.Id, tags: (row.RepoTags ?? []).filter((t) => t !== '<none>:<none>'), labels: row.Labels ?? {}, created: new Date(row.Created * 1000) }))
      .sort((a, b) => b.created.getTime() - a.created.getTime());
  }

  /** The image ids a reference points at now, or undefined when it names nothing. */
  async idOf(reference: string): Promise<string | undefined> {
    try {
      const info = (await this.docker.getImage(reference).inspect()) as { Id: string };
      return info.Id;
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return undefined;
      return this.call.run(`inspect image ${reference}`, () => Promise.reject(error));
    }
  }
}
