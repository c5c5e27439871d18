import { ExitCode } from '../../errors.js';

/** The statuses of the shared vocabulary that a check can have; humans read "ok" for succeeded. */
export type CheckStatus = 'succeeded' | 'warning' | 'failed' | 'skipped';

/** One line of the doctor's answer: what was checked, what was seen, and the fix when it is not ok. */
export interface Check {
  id: string;
  title: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

export interface DoctorReport {
  schema: 'firebreak.doctor/v1';
  status: 'succeeded' | 'warning' | 'failed';
  exitCode: number;
  endpoint: { label: string; source: string };
  checks: Check[];
}

export const ok = (id: string, title: string, detail: string): Check => ({ id, title, status: 'succeeded', detail });
export const warning = (id: string, title: string, detail: string, fix: string): Check => ({
  id,
  title,
  status: 'warning',
  detail,
  fix,
});
export const failed = (id: string, title: string, detail: string, fix: string): Check => ({
  id,
  title,
  status: 'failed',
  detail,
  fix,
});
export const skipped = (id: string, title: string, why: string): Check => ({
  id,
  title,
  status: 'skipped',
  detail: why,
});

/**
 * Exit 0 only when nothing failed; 3 when the engine could not be reached or refused us, since
 * nothing else can be judged then; 1 for any other failure.
 */
export function summarise(endpoint: DoctorReport['endpoint'], checks: Check[], engineLost: boolean): DoctorReport {
  const anyFailed = checks.some((c) => c.status === 'failed');
  const status = anyFailed ? 'failed' : checks.some((c) => c.status === 'warning') ? 'warning' : 'succeeded';
  const exitCode = engineLost ? ExitCode.engineUnreachable : anyFailed ? ExitCode.stepFailed : ExitCode.ok;
  return { schema: 'firebreak.doctor/v1', status, exitCode, endpoint, checks };
}
