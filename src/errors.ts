/**
 * The exit-code table (DESIGN.md section 2) and the error classes that carry those codes.
 * This is the only place an exit code is decided.
 */
export const ExitCode = {
  ok: 0,
  stepFailed: 1,
  usage: 2,
  engineUnreachable: 3,
  noTarget: 4,
  verifyFailed: 5,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class FirebreakError extends Error {
  readonly exitCode: ExitCode = ExitCode.stepFailed;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad flags, a bad playbook file, a bad template, an unknown step type. */
export class UsageError extends FirebreakError {
  override readonly exitCode = ExitCode.usage;
}

/** What decides whether a failed call is worth a second try; src/docker/errors.ts fills it in. */
export interface EngineErrorOptions {
  cause?: unknown;
  /** false when a second try cannot succeed (no such object, a bad request, forbidden); default true. */
  retryable?: boolean;
}

/** The Docker engine could not be reached, or refused us (permissions, TLS), or is not a Docker engine. */
export class EngineUnreachableError extends FirebreakError {
  override readonly exitCode = ExitCode.engineUnreachable;
  readonly retryable: boolean;
  constructor(message: string, options: EngineErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.retryable = options.retryable ?? true;
  }
}

/** No container matched the targets given. */
export class NoTargetError extends FirebreakError {
  override readonly exitCode = ExitCode.noTarget;
}

/** A bundle failed verification: a hash mismatch, a missing or unexpected entry. */
export class VerifyError extends FirebreakError {
  override readonly exitCode = ExitCode.verifyFailed;
}

/** The run was interrupted by SIGINT or SIGTERM. */
export class InterruptedError extends FirebreakError {
  override readonly exitCode = ExitCode.interrupted;
}

/** A Docker API call failed for a reason other than reachability; the engine's message is kept. */
export class EngineError extends FirebreakError {
  readonly retryable: boolean;
  constructor(
    message: string,
    readonly statusCode: number | undefined,
    readonly engineMessage: string,
    options: EngineErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.retryable = options.retryable ?? true;
  }
  get notFound(): boolean {
    return this.statusCode === 404;
  }
}

/** A playbook step failed on a target. */
export class StepError extends FirebreakError {
  constructor(
    readonly stepId: string,
    readonly target: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${stepId} on ${target}: ${message}`, options);
  }
}

export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof FirebreakError) return error.exitCode;
  return ExitCode.stepFailed;
}

/**
 * Whether a second try can succeed. An error says so itself (`retryable: false`), or through the
 * error it wraps: a step that adds context to an engine error keeps the engine error's verdict.
 */
export function isRetryable(error: unknown): boolean {
  for (
    let e = error, depth = 0;
    e && typeof e === 'object' && depth < 8;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    if ((e as { retryable?: unknown }).retryable === false) return false;
  }
  return true;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
