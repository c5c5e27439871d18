import type { Target } from '../docker/index.js';
import type { RunRecord, RunStatus } from '../evidence/record.js';
import type { ExitCode } from '../errors.js';
import type { StoredBundle } from '../evidence/store.js';
import type { SshSigningKey } from '../evidence/ssh-key.js';

export interface BundleSigner {
  key: SshSigningKey;
  /** Who signs, as recorded in bag-info.txt; undefined: the key comment, else the operator. */
  identity?: string;
}
import type { LogLevel } from '../log.js';
import type { LoadedPlaybook } from './playbook.js';
import type { TargetPlan } from './plan.js';
import type { Progress } from './progress.js';

/** Everything a command hands the engine. Commands build this and nothing more. */
export interface RunRequest {
  playbook: string | LoadedPlaybook;
  params: Record<string, unknown>;
  /** The flag each param came from, so a bad value is named as the operator typed it (`--since`); default `--param NAME`. */
  paramFlags?: Record<string, string>;
  references: string[];
  filters: string[];
  host?: string;
  /** A Docker context by name (--context); resolveEndpoint refuses it together with `host`. */
  context?: string;
  /** The engine's name in a fleet run: in the bundle's file name, bag-info.txt and run.json. */
  engineName?: string;
  evidenceDir: string;
  incident?: string;
  dryRun: boolean;
  concurrency: number;
  compression: 'gzip' | 'none';
  logLevel: LogLevel;
  signal: AbortSignal;
  /**
   * The run undoes a change a step of type `uses` recorded (restore-network, throttle --revert):
   * the run joins the record's incident unless `incident` is given, and a `from` bundle that
   * cannot be read is exit 2 before anything changes.
   */
  recordOf?: { uses: string; from?: string };
  /** Pause each target for the length of its steps and unpause it after, whatever happens (see freeze.ts). */
  freeze?: boolean;
  progress: Progress;
  /** Signs the finished bundle (`<bundle>.sig`); the key was read before anything changed. */
  signer?: BundleSigner;
  /** Asked after targets are resolved and planned, before anything changes; false stops the run. */
  confirm?: (targets: readonly Target[], plans: readonly TargetPlan[]) => Promise<boolean>;
  /** Told a line the operator must see before the run goes on (old debris, a wait for another firebreak). */
  onNotice?: (message: string) => void;
  /** Told the targets as soon as they are known (before the prompt and the run). */
  onTargets?: (targets: readonly Target[], plans: readonly TargetPlan[]) => void;
}

export interface RunOutcome {
  status: RunStatus | 'planned' | 'declined';
  exitCode: ExitCode;
  runId: string;
  incident: string;
  playbook: string;
  /** The engine acted on, and how it was chosen (run.json's `engine`). */
  engine?: RunRecord['engine'];
  plan?: TargetPlan[];
  record?: RunRecord;
  bundle?: StoredBundle;
  /** `<bundle>.sig` and who signed it, when the run was asked to sign. */
  signature?: { path: string; identity: string; fingerprint: string };
  /** No bundle could be written anywhere: why. The result on stdout is then the only account. */
  evidenceError?: string;
  /** Steps failed because the engine stopped answering (exit 3): one line naming the engine and where. */
  engineLost?: string;
}
