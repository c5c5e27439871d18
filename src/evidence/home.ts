/**
 * Where bundles go when no --evidence-dir is given: one stable folder per user, not `./evidence`
 * in whatever directory the operator stands in, so a restore run from another directory finds
 * the isolate record, and at 3 a.m. the bundles are where they were yesterday.
 */
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

/**
 * FIREBREAK_EVIDENCE_DIR, else the XDG state folder ($XDG_STATE_HOME/firebreak/evidence, else
 * ~/.local/state/firebreak/evidence). A relative XDG_STATE_HOME is ignored, as the XDG spec says.
 */
export function defaultEvidenceDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FIREBREAK_EVIDENCE_DIR?.trim()) return env.FIREBREAK_EVIDENCE_DIR;
  const state = env.XDG_STATE_HOME && isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : undefined;
  return join(state ?? join(env.HOME || homedir(), '.local', 'state'), 'firebreak', 'evidence');
}
