/**
 * `--health-file PATH`: touched every few seconds while watch runs, so a supervisor can tell a
 * wedged watcher (the file goes stale) from a quiet one (nothing to do, the file stays fresh).
 * "The healer died quietly" is the complaint this answers. The file holds one JSON line: when,
 * which process, and whether the event stream is connected.
 */
import { rename, writeFile } from 'node:fs/promises';

export const heartbeatMs = 5000;

export function startHeartbeat(path: string, state: () => { connected: boolean }): () => void {
  const beat = async () => {
    const body = `${JSON.stringify({ at: new Date().toISOString(), pid: process.pid, ...state() })}\n`;
    const temporary = `${path}.${process.pid}.tmp`;
    try {
      await writeFile(temporary, body, { mode: 0o644 });
      await rename(temporary, path);
    } catch {
      // A heartbeat that cannot be written is a stale heartbeat: the supervisor sees exactly that.
    }
  };
  void beat();
  const timer = setInterval(() => void beat(), heartbeatMs);
  return () => clearInterval(timer);
}
