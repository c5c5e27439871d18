import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Engine, Target } from '../docker/index.js';

/** Where a step puts its evidence: files under data/targets/<target>/ in the bundle. */
export interface ArtifactSink {
  /** A small artifact already in memory. */
  file(name: string, data: string | Buffer): Promise<ArtifactRef>;
  json(name: string, value: unknown): Promise<ArtifactRef>;
  /** A stream, hashed while it is written; of unknown length unless `size` is given. */
  stream(name: string, source: Readable, size?: number): Promise<ArtifactRef>;
}

export interface ArtifactRef {
  path: string;
  size: number;
  sha256: string;
}

export interface StepContext {
  engine: Engine;
  target: Target;
  /** Aborts on the step's timeout and on Ctrl-C. Pass it to every wait. */
  signal: AbortSignal;
  log: Logger;
  artifacts: ArtifactSink;
  /**
   * A state-changing step records here what it is about to change, before each action: when it is
   * interrupted or fails halfway, the runner keeps the last value as the step's undo data.
   */
  recordUndo(undo: unknown): void;
  incident: string;
  /** The playbook's name, for messages that leave the run (alerts). */
  playbook?: string;
  evidenceDir: string;
  runId: string;
  runStartedAt: Date;
}

export interface StepOutcome {
  outputs?: Record<string, unknown>;
  /** What it takes to undo this step (previous networks, previous limits), kept in run.json. */
  undo?: unknown;
  /** false when the state was already as asked: idempotent success, and the report says so. */
  changed?: boolean;
  /** One line for the report and progress. */
  note?: string;
}

export interface StepType<S extends z.ZodType = z.ZodType> {
  type: string;
  description: string;
  input: S;
  /** Output names other steps may read as steps.<id>.outputs.<name>. */
  outputs: readonly string[];
  /** Default timeout in milliseconds. */
  timeout: number;
  /** Changes the container or the engine (as opposed to only reading). */
  mutates: boolean;
  plan(input: z.output<S>, target: Target): string;
  run(ctx: StepContext, input: z.output<S>): Promise<StepOutcome>;
}

/** Keeps the input type of plan/run tied to the schema. */
export function defineStep<S extends z.ZodType>(step: StepType<S>): StepType<S> {
  return step;
}
