import type { LogLevel } from '../../log.js';
import type { LoadedPlaybook } from '../playbook.js';

/** Everything `firebreak watch` hands the engine. */
export interface WatchRequest {
  host?: string;
  context?: string;
  /** `--label K=V` and `--filter KEY=VALUE`, as the docker CLI writes them. */
  labels: string[];
  filters: string[];
  playbook: string | LoadedPlaybook;
  params: Record<string, unknown>;
  paramFlags?: Record<string, string>;
  evidenceDir: string;
  compression: 'gzip' | 'none';
  logLevel: LogLevel;
  /** Act once a container has been unhealthy this long (0: at the event). */
  unhealthyForMs: number;
  /** Act when a container dies this many times within `windowMs` (0: never on deaths). */
  crashCount: number;
  windowMs: number;
  /** At most this many recoveries of one container per `windowMs`; past it the breaker opens. */
  maxRecoveries: number;
  maxParallel: number;
  /** When the breaker opens, quarantine the container as well as alerting. */
  quarantineOnFailure: boolean;
  /** After the stop signal, how long running playbooks may take before they are aborted. */
  graceMs: number;
  healthFile?: string;
  /** Aborted on SIGTERM/SIGINT: stop taking events, let running recoveries finish within the grace. */
  signal: AbortSignal;
  /** Aborted on a second signal: abort running recoveries now. */
  hardSignal?: AbortSignal;
  /** Told everything worth a line. */
  onEvent: (event: WatchEvent) => void;
}

export type WatchEventKind =
  | 'started'
  | 'connected'
  | 'disconnected'
  | 'trigger'
  | 'recovery-started'
  | 'recovery-ended'
  | 'skipped'
  | 'breaker-open'
  | 'escalated'
  | 'notice'
  | 'stopping'
  | 'stopped';

/** One line of the watcher's log: the NDJSON document of --log-format json (schemas/watch-event.v1.json). */
export interface WatchEvent {
  kind: WatchEventKind;
  level: 'debug' | 'info' | 'warn' | 'error';
  /** The line a human reads. */
  message: string;
  container?: { id: string; name: string };
  /** What made watch act or look: "health_status: unhealthy", "died 3 times in 10m". */
  reason?: string;
  status?: 'succeeded' | 'failed' | 'aborted' | 'skipped';
  run?: string;
  incident?: string;
  playbook?: string;
  bundle?: { path: string; sha256: string };
  durationMs?: number;
  /** For breaker-open: when the container is looked at again. */
  until?: string;
  /** For started and connected: the engine. */
  engine?: { endpoint: string; id?: string };
}
