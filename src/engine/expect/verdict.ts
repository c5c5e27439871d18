/** What one check found: whether it held, and both sides in words a person compares at a glance. */
export interface Verdict {
  ok: boolean;
  expected: string;
  observed: string;
}

/** One expectation after a run, in the status words every firebreak document uses. */
export interface ExpectationResult {
  expectation: string;
  status: 'succeeded' | 'failed';
  expected: string;
  observed: string;
  durationMs: number;
}
