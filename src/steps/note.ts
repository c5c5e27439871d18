import { z } from 'zod';
import { defineStep } from './types.js';

export const noteStep = defineStep({
  type: 'note',
  description: 'Write a line into the journal and the report (templated)',
  input: z.object({ text: z.string() }).strict(),
  outputs: [],
  timeout: 1_000,
  mutates: false,
  plan: ({ text }) => `note: ${text}`,
  async run(ctx, { text }) {
    ctx.log.info({ note: text }, 'note');
    return { note: text };
  },
});
