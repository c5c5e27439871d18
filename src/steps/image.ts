import { z } from 'zod';
import { compactTimestamp } from '../evidence/naming.js';
import { defineStep } from './types.js';

/** Image steps: naming what container.commit preserved, so people and policies can find it. */

// Docker's reference grammar, reduced: lower-case path components, an optional registry host first.
const component = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const repositoryPattern = new RegExp(
  `^(?:(?:localhost|[a-zA-Z0-9-]+(?:\\.[a-zA-Z0-9-]+)+)(?::\\d+)?/)?${component}(?:/${component})*$`,
);
const tagPattern = /^[\w][\w.-]{0,127}$/;

export const defaultRepository = 'quarantine/suspicious';

/** Why Docker would refuse `repository` as an image repository, or undefined when it would take it. */
export function repositoryProblem(repository: string): string | undefined {
  return repositoryPattern.test(repository)
    ? undefined
    : 'a repository is lower-case path components, e.g. quarantine/suspicious';
}

export interface TagUndo {
  reference: string;
  /** The image the reference named before, if any: undoing puts it back, else removes the tag. */
  previous?: string;
}

export const tagStep = defineStep({
  type: 'image.tag',
  description:
    'Tag an image (default quarantine/suspicious:<run start, UTC>), moving the tag if it named another image',
  input: z
    .object({
      image: z.string().min(1, 'name the image to tag, e.g. ${{ steps.commit.outputs.image }}'),
      repository: z
        .string()
        .default(defaultRepository)
        .refine((r) => !repositoryProblem(r), { error: (issue) => repositoryProblem(String(issue.input)) }),
      tag: z
        .string()
        .optional()
        .refine(
          (t) => !t || tagPattern.test(t),
          'a tag is up to 128 letters, digits, _ . and -, not starting with . or -',
        ),
    })
    .strict(),
  outputs: ['reference', 'image'],
  timeout: 15_000,
  mutates: true,
  plan: ({ image, repository, tag }) => `tag ${short(image)} as ${repository}:${tag || '<run start, UTC>'}`,
  async run(ctx, { image, repository, tag }) {
    // The same moment `${{ now }}` names, so every tag of one run matches its bundle's name.
    const name = tag || compactTimestamp(ctx.runStartedAt);
    const reference = `${repository}:${name}`;
    const [target, previous] = await Promise.all([
      ctx.engine.images.idOf(image, ctx.signal),
      ctx.engine.images.idOf(reference, ctx.signal),
    ]);
    if (!target) throw new Error(`no image ${image} to tag`);
    if (previous === target)
      return { changed: false, outputs: { reference, image: target }, note: `already tagged ${reference}` };
    await ctx.engine.images.tag(target, repository, name, ctx.signal);
    const undo: TagUndo = { reference, ...(previous ? { previous } : {}) };
    return {
      changed: true,
      undo,
      outputs: { reference, image: target },
      note: `tagged ${reference}${previous ? ` (moved from ${short(previous)})` : ''}`,
    };
  },
});

function short(image: string): string {
  return image.startsWith('sha256:') ? image.slice(7, 19) : image;
}
