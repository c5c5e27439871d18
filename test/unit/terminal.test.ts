import { describe, expect, it } from 'vitest';
import { renderOutcome } from '../../src/cli/render.js';
import { visibleControls } from '../../src/cli/terminal.js';
import type { RunOutcome } from '../../src/engine/request.js';

describe('visibleControls', () => {
  it('writes ESC, BEL, DEL and the C1 controls as their JSON escapes', () => {
    expect(visibleControls('\u001b[2J\u001b]0;pwned\u0007')).toBe('\\u001b[2J\\u001b]0;pwned\\u0007');
    expect(visibleControls('a\u007fb\u009b31m\u0085')).toBe('a\\u007fb\\u009b31m\\u0085');
    expect(visibleControls('\u0000')).toBe('\\u0000');
  });

  it('keeps line feeds and tabs only in multi-line output, and never a carriage return', () => {
    expect(visibleControls('a\nb\tc\rd')).toBe('a\\u000ab\\u0009c\\u000dd');
    expect(visibleControls('a\nb\tc\rd', true)).toBe('a\nb\tc\\u000dd');
  });

  it('leaves printable text, accents and emoji alone', () => {
    const text = 'café ✓ 日本 🔥 [2J ~';
    expect(visibleControls(text, true)).toBe(text);
  });

  it('keeps JSON valid and its value the same', () => {
    const value = { env: 'x\u009b31m\u007f', log: '\u001b[2J' };
    const text = visibleControls(JSON.stringify(value, null, 2), true);
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(JSON.parse(text)).toEqual(value);
  });
});

describe('renderOutcome', () => {
  it('prints a webhook answer with escapes and line breaks as visible text, one line per step', () => {
    const step = {
      id: 'alert',
      uses: 'alert.webhook',
      status: 'failed' as const,
      attempts: 1,
      error: 'answered 500: \u001b]0;pwned\u0007\nok   fake: succeeded',
    };
    const outcome: RunOutcome = {
      status: 'failed',
      exitCode: 1,
      runId: 'r',
      incident: 'INC-1',
      playbook: 'p',
      bundle: { path: 'b.tar.gz', sha256: 'f'.repeat(64), size: 1 },
      record: {
        schema: 'firebreak.run/v1',
        runId: 'r',
        incident: 'INC-1',
        playbook: { name: 'p', source: 'p.yaml' },
        params: {},
        status: 'failed',
        startedAt: '',
        endedAt: '',
        durationMs: 5,
        operator: { user: 'u', host: 'h' },
        tool: { name: 'firebreak', version: '0' },
        engine: { endpoint: 'unix:///var/run/docker.sock' },
        artifacts: [],
        targets: [{ id: 'a'.repeat(64), name: 'web-1', image: 'i', status: 'failed', steps: [step] }],
      },
    };
    const lines = renderOutcome(outcome).trimEnd().split('\n');
    // The summary, the engine, the target, its one step, the evidence folder, the bundle.
    expect(lines).toHaveLength(6);
    expect(lines[1]).toBe('  engine unix:///var/run/docker.sock');
    expect(lines[3]).toBe('    FAIL alert: answered 500: \\u001b]0;pwned\\u0007\\u000aok   fake: succeeded');
  });
});
