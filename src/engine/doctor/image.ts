import type { Engine } from '../../docker/index.js';

/** Images whose userland has `sleep`, which the throwaway container runs; preferred when no --image is named. */
const withSleep = /(^|\/)(busybox|alpine|debian|ubuntu|fedora|centos|rockylinux|almalinux)(:|$)/;
/** Never run a quarantined image (the quarantine playbook's default repository) to test permissions. */
const quarantined = /^quarantine\//;

/** The image the throwaway container is made from: the one named, or a local one; never pulled (no registry is assumed). */
export async function chooseImage(
  engine: Engine,
  named: string | undefined,
  signal: AbortSignal,
): Promise<{ image?: string; how: string }> {
  if (named) {
    const id = await engine.images.idOf(named, signal);
    return id ? { image: named, how: `${named} (--image)` } : { how: `--image ${named} is not on this engine` };
  }
  const images = await engine.images.list({ dangling: ['false'] }, signal);
  const tagged = images.flatMap((image) => image.tags).filter((tag) => !quarantined.test(tag));
  const image = tagged.find((tag) => withSleep.test(tag)) ?? tagged[0];
  return image
    ? { image, how: `${image} (a local image; name another with --image)` }
    : { how: 'no image on this engine' };
}
