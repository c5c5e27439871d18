import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { parseFilters } from '../../src/docker/targets.js';

describe('parseFilters', () => {
  it('turns KEY=VALUE flags into the Engine API filters object', () => {
    expect(parseFilters(['ancestor=nginx', 'status=running'])).toEqual({ ancestor: ['nginx'], status: ['running'] });
  });

  it('gives no filters for no flags', () => {
    expect(parseFilters([])).toEqual({});
  });

  it('splits at the first = only, so a label filter keeps its own =', () => {
    expect(parseFilters(['label=app=web'])).toEqual({ label: ['app=web'] });
  });

  it('collects repeated keys into one list', () => {
    expect(parseFilters(['label=app=web', 'label=tier=front', 'name=api'])).toEqual({
      label: ['app=web', 'tier=front'],
      name: ['api'],
    });
  });

  it('accepts every key it documents', () => {
    for (const key of [
      'ancestor',
      'label',
      'name',
      'health',
      'status',
      'id',
      'network',
      'volume',
      'expose',
      'publish',
    ]) {
      expect(parseFilters([`${key}=x`])).toEqual({ [key]: ['x'] });
    }
  });

  it('rejects a flag without =, without a key or without a value', () => {
    for (const flag of ['nginx', '=nginx', 'ancestor=', '']) {
      expect(() => parseFilters([flag])).toThrow(UsageError);
      expect(() => parseFilters([flag])).toThrow(`--filter "${flag}": expected KEY=VALUE`);
    }
  });

  it('rejects an unknown key, listing the known ones', () => {
    expect(() => parseFilters(['ancestor=nginx', 'color=red'])).toThrow(UsageError);
    expect(() => parseFilters(['color=red'])).toThrow(
      /--filter "color=red": unknown key "color"; use one of ancestor, label, name/,
    );
  });

  it('treats keys as case-sensitive, as the engine does', () => {
    expect(() => parseFilters(['Label=app=web'])).toThrow(UsageError);
  });
});
