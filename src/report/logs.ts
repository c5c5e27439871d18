/**
 * The last lines of a container's stdout and stderr. Log text is the container's own: each line
 * has its control characters made visible (an ESC in a log must not drive the terminal or the
 * page that shows the report) and its secret-looking values masked.
 */
import { visibleControls } from '../controls.js';
import { maskText } from '../secrets.js';

export interface LogExcerpt {
  stdout?: string[];
  stderr?: string[];
}

export const logLineCount = 20;

export function logExcerpt(stdout: string | undefined, stderr: string | undefined): LogExcerpt | undefined {
  if (stdout === undefined && stderr === undefined) return undefined;
  return {
    ...(stdout !== undefined ? { stdout: lastLines(stdout) } : {}),
    ...(stderr !== undefined ? { stderr: lastLines(stderr) } : {}),
  };
}

export function lastLines(text: string, count = logLineCount): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.slice(-count).map((line) => visibleControls(maskText(line)));
}
