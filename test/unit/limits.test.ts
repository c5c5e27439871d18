import { describe, expect, it } from 'vitest';
import {
  derivedSwap,
  describeLimits,
  differingLimits,
  formatCpus,
  formatMemory,
  limitRequest,
  parseCpuShares,
  parseCpus,
  parseMemory,
  parseMemorySwap,
  parsePids,
  sameLimit,
} from '../../src/steps/limits.js';

const none = { nanoCpus: 0, cpuShares: 0, memory: 0, memorySwap: 0, pidsLimit: 0 };
const mi = 1024 ** 2;
const gi = 1024 ** 3;

describe('parseMemory', () => {
  it('reads sizes with binary units as the docker CLI does', () => {
    expect(parseMemory('512m')).toBe(512 * mi);
    expect(parseMemory('1g')).toBe(gi);
    expect(parseMemory('1.5g')).toBe(1.5 * gi);
    expect(parseMemory('64k')).toBe(64 * 1024);
    expect(parseMemory('2t')).toBe(2 * 1024 ** 4);
  });

  it('reads the b, ib and upper-case spellings of the same units', () => {
    expect(parseMemory('1G')).toBe(gi);
    expect(parseMemory('1gb')).toBe(gi);
    expect(parseMemory('1GiB')).toBe(gi);
    expect(parseMemory('512 m')).toBe(512 * mi);
  });

  it('reads a bare number, text or not, as bytes', () => {
    expect(parseMemory('1048576')).toBe(mi);
    expect(parseMemory(1048576)).toBe(mi);
    expect(parseMemory('100b')).toBe(100);
  });

  it('truncates a fraction of a byte', () => {
    expect(parseMemory('1.3k')).toBe(1331);
  });

  it('rejects what is not a size, saying how to write one', () => {
    expect(() => parseMemory('5x')).toThrow(/"5x" is not a size; write e\.g\. 512m/);
    expect(() => parseMemory('-1')).toThrow(/not a size/);
    expect(() => parseMemory('')).toThrow(/not a size/);
    expect(() => parseMemory('1.2.3g')).toThrow(/not a size/);
    expect(() => parseMemory(-5)).toThrow(/not a number of bytes/);
  });
});

describe('parseMemorySwap', () => {
  it('reads -1 as unlimited swap and anything else as a size', () => {
    expect(parseMemorySwap('-1')).toBe(-1);
    expect(parseMemorySwap(-1)).toBe(-1);
    expect(parseMemorySwap('1g')).toBe(gi);
  });
});

describe('parseCpus', () => {
  it('turns CPUs into the NanoCpus the API wants', () => {
    expect(parseCpus('0.5')).toBe(500_000_000);
    expect(parseCpus('2')).toBe(2_000_000_000);
    expect(parseCpus(1.5)).toBe(1_500_000_000);
    expect(parseCpus('0.01')).toBe(10_000_000);
  });

  it('is exact where floating point is not (0.1 x 1e9)', () => {
    expect(parseCpus('0.1')).toBe(100_000_000);
    expect(parseCpus('0.3')).toBe(300_000_000);
    expect(Number.isInteger(parseCpus('2.000000001'))).toBe(true);
  });

  it('rejects negative, non-numeric and over-precise values', () => {
    expect(() => parseCpus('-1')).toThrow(/not a number of CPUs/);
    expect(() => parseCpus('half')).toThrow(/not a number of CPUs/);
    expect(() => parseCpus('0.0000000001')).toThrow(/too precise/);
  });
});

describe('parsePids and parseCpuShares', () => {
  it('reads -1 and 0 as no pids limit, stored as 0', () => {
    expect(parsePids('100')).toBe(100);
    expect(parsePids('-1')).toBe(0);
    expect(parsePids(0)).toBe(0);
    expect(() => parsePids('-2')).toThrow(/not a process count/);
    expect(() => parsePids('1.5')).toThrow(/not a process count/);
  });

  it('reads a CPU weight as a whole number', () => {
    expect(parseCpuShares('512')).toBe(512);
    expect(() => parseCpuShares('lots')).toThrow(/not a CPU weight/);
  });
});

describe('formatting', () => {
  it('writes sizes in the largest unit that reads at least 1', () => {
    expect(formatMemory(512 * mi)).toBe('512m');
    expect(formatMemory(1.5 * gi)).toBe('1.5g');
    expect(formatMemory(100)).toBe('100b');
    expect(formatMemory(-1)).toBe('unlimited');
    expect(formatCpus(500_000_000)).toBe('0.5');
  });

  it('describes limits for notes and plans, naming the ones that are absent as unlimited', () => {
    expect(describeLimits({ nanoCpus: 500_000_000, memory: 512 * mi, memorySwap: gi, pidsLimit: 100 })).toBe(
      'cpus 0.5, memory 512m (with swap 1g), pids 100',
    );
    expect(describeLimits({ nanoCpus: 0, memory: 0, pidsLimit: 0 })).toBe(
      'cpus unlimited, memory unlimited, pids unlimited',
    );
    expect(describeLimits({})).toBe('no limits');
  });
});

describe('comparing limits', () => {
  it('treats the spellings of "no limit" as the same limit', () => {
    expect(sameLimit('pidsLimit', 0, -1)).toBe(true);
    expect(sameLimit('cpuShares', 0, 1024)).toBe(true);
    expect(sameLimit('memory', 0, 512 * mi)).toBe(false);
  });

  it('lists only the limits that would change', () => {
    const current = { ...none, nanoCpus: 500_000_000, pidsLimit: 100 };
    expect(differingLimits(current, { nanoCpus: 500_000_000, pidsLimit: 50 })).toEqual(['pidsLimit']);
    expect(differingLimits(current, { nanoCpus: 500_000_000 })).toEqual([]);
  });
});

describe('memory-swap with a new memory limit', () => {
  it('gives as much swap again as memory, as docker run -m does', () => {
    expect(derivedSwap(none, 512 * mi)).toBe(gi);
    expect(derivedSwap({ ...none, memory: 256 * mi, memorySwap: 512 * mi }, gi)).toBe(2 * gi);
  });

  it('keeps a container that was allowed no swap without swap', () => {
    expect(derivedSwap({ ...none, memory: 256 * mi, memorySwap: 256 * mi }, 128 * mi)).toBe(128 * mi);
  });

  it('adds memory-swap to a request that changes memory alone, and leaves it out when memory does not change', () => {
    expect(limitRequest(none, { memory: 512 * mi })).toEqual({ memory: 512 * mi, memorySwap: gi });
    const limited = { ...none, memory: 512 * mi, memorySwap: -1 };
    expect(limitRequest(limited, { memory: 512 * mi })).toEqual({});
    expect(limitRequest(none, { memory: 512 * mi, memorySwap: -1 })).toEqual({ memory: 512 * mi, memorySwap: -1 });
  });

  it('asks for nothing when every limit is already as wanted', () => {
    const current = { ...none, nanoCpus: 500_000_000, memory: 512 * mi, memorySwap: gi, pidsLimit: 100 };
    expect(limitRequest(current, { nanoCpus: 500_000_000, memory: 512 * mi, pidsLimit: 100 })).toEqual({});
  });
});
