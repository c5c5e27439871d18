import { describe, expect, it } from 'vitest';
import { defaultEvidenceDir } from '../../src/evidence/home.js';

describe('the default evidence folder', () => {
  it('is FIREBREAK_EVIDENCE_DIR when set', () => {
    expect(defaultEvidenceDir({ FIREBREAK_EVIDENCE_DIR: '/srv/ev', XDG_STATE_HOME: '/x', HOME: '/h' })).toBe('/srv/ev');
  });

  it('is under XDG_STATE_HOME when that is an absolute path', () => {
    expect(defaultEvidenceDir({ XDG_STATE_HOME: '/var/state', HOME: '/h' })).toBe('/var/state/firebreak/evidence');
  });

  it('is ~/.local/state/firebreak/evidence otherwise, ignoring a relative XDG_STATE_HOME', () => {
    expect(defaultEvidenceDir({ HOME: '/home/ann' })).toBe('/home/ann/.local/state/firebreak/evidence');
    expect(defaultEvidenceDir({ XDG_STATE_HOME: 'state', HOME: '/home/ann', FIREBREAK_EVIDENCE_DIR: ' ' })).toBe(
      '/home/ann/.local/state/firebreak/evidence',
    );
  });
});
