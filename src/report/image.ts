/**
 * The image a container runs, with what pins it: the repository digest when the image came from
 * a registry, and always the image id (itself a digest of the image's configuration).
 */

export interface ImageFacts {
  /** The name the container was created from, as run.json has it. */
  name: string;
  /** `sha256:...`, the image id. */
  id?: string;
  /** `repo@sha256:...` for each registry the image was pulled from; empty for a local build. */
  digests: string[];
}

type Json = Record<string, any>;

export function imageFacts(name: string, image: unknown, inspect: unknown): ImageFacts {
  const doc = (image && typeof image === 'object' ? image : {}) as Json;
  const id = typeof doc.Id === 'string' ? doc.Id : (inspect as Json | null)?.Image;
  const digests = Array.isArray(doc.RepoDigests) ? doc.RepoDigests.filter((d: unknown) => typeof d === 'string') : [];
  return { name, ...(typeof id === 'string' ? { id } : {}), digests };
}
