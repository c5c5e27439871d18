import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import {
  bagInfoText,
  bagInfoValue,
  bagSize,
  bagitText,
  checkBagInfo,
  parseBagInfo,
  payloadOxum,
} from '../../src/evidence/bagit.js';
import { manifestText, parseManifest, sha256Hex } from '../../src/evidence/manifest.js';
import { bagName, bundleFileName, checkArtifactPath, spoolFileName } from '../../src/evidence/naming.js';

const started = new Date('2025-11-30T23:59:58.123Z');

describe('naming', () => {
  it('names a bundle after the UTC start second, the playbook and the incident', () => {
    expect(bundleFileName(started, 'isolate', 'INC-42', 'gzip')).toBe('20251130T235958Z_isolate_INC-42.tar.gz');
    expect(bundleFileName(started, 'isolate', 'INC-42', 'none')).toBe('20251130T235958Z_isolate_INC-42.tar');
    expect(bagName(started, 'isolate', 'INC-42')).toBe('20251130T235958Z_isolate_INC-42');
  });

  it('reduces playbook and incident names to letters, digits, dot, underscore and dash', () => {
    expect(bagName(started, 'my playbook/v2', '../../etc passwd')).toBe(
      '20251130T235958Z_my-playbook-v2_..-..-etc-passwd',
    );
    expect(bagName(started, 'ünïcödé', '')).toBe('20251130T235958Z_-n-c-d-_unnamed');
    expect(bagName(started, 'x'.repeat(200), 'y').length).toBeLessThan(100);
  });

  it('refuses an invalid start time', () => {
    expect(() => bagName(new Date('nope'), 'a', 'b')).toThrow(UsageError);
  });

  it('names spool files as hidden files beside the bundle, each one different', () => {
    const a = spoolFileName('b.tar.gz');
    expect(a).toMatch(/^\.b\.tar\.gz\.spool-[0-9a-f]{12}$/);
    expect(spoolFileName('b.tar.gz')).not.toBe(a);
  });

  it('accepts artifact paths relative to data/', () => {
    for (const ok of [
      'run.json',
      'targets/web-1/inspect.json',
      'targets/db_2/logs.stdout.log',
      '.hidden',
      'a b/ü.txt',
    ]) {
      expect(checkArtifactPath(ok)).toBe(ok);
    }
  });

  it('rejects artifact paths that escape data/ or would break a manifest line, naming the path', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /is empty/],
      ['/abs/path', /is absolute/],
      ['../up', /contains \.\./],
      ['a/../../b', /contains \.\./],
      ['a//b', /empty segment/],
      ['trailing/', /empty segment/],
      ['win\\path', /backslash/],
      ['./a', /\. segment/],
      ['new\nline', /control character/],
      ['50%', /contains %/],
    ];
    for (const [path, problem] of cases) {
      expect(() => checkArtifactPath(path)).toThrow(UsageError);
      expect(() => checkArtifactPath(path)).toThrow(problem);
      expect(() => checkArtifactPath(path)).toThrow(`artifact path ${JSON.stringify(path)}`);
    }
  });
});

describe('bag-info and bagit.txt', () => {
  it('declares BagIt 1.0 in UTF-8', () => {
    expect(bagitText()).toBe('BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n');
  });

  it('writes the computed fields first, then the given fields in the order given', () => {
    const text = bagInfoText(
      started,
      { octets: 1_234_567, count: 3 },
      { 'External-Identifier': 'INC-42', 'Contact-Name': 'alice' },
    );
    expect(text).toBe(
      'Bagging-Date: 2025-11-30\nPayload-Oxum: 1234567.3\nBag-Size: 1.2 MB\nExternal-Identifier: INC-42\nContact-Name: alice\n',
    );
  });

  it('refuses fields the writer computes, bad labels and multi-line values', () => {
    expect(() => checkBagInfo({ 'payload-oxum': '1.1' })).toThrow(/computed by the bundle writer/);
    expect(() => checkBagInfo({ 'Bad Label': 'x' })).toThrow(/"Bad Label"/);
    expect(() => checkBagInfo({ 'Bag-Software-Agent': 'a\nb' })).toThrow(/Bag-Software-Agent.*line break/);
    expect(() => checkBagInfo({ 'Docker-Engine-Version': '27.3.1' })).not.toThrow();
  });

  it('formats Payload-Oxum and Bag-Size', () => {
    expect(payloadOxum(0, 0)).toBe('0.0');
    expect(payloadOxum(8, 2)).toBe('8.2');
    expect(bagSize(999)).toBe('999 B');
    expect(bagSize(1500)).toBe('1.5 KB');
    expect(bagSize(3_200_000_000)).toBe('3.2 GB');
  });

  it('reads labels case-insensitively and joins folded lines', () => {
    const fields = parseBagInfo('Payload-Oxum: 8.2\nExternal-Description: first part\n  second part\n\n');
    expect(fields).toEqual([
      ['Payload-Oxum', '8.2'],
      ['External-Description', 'first part second part'],
    ]);
    expect(bagInfoValue(fields, 'payload-oxum')).toBe('8.2');
    expect(bagInfoValue(fields, 'Bag-Size')).toBeUndefined();
  });
});

describe('manifests', () => {
  it('writes one sha256sum-style line per file', () => {
    const a = sha256Hex('a');
    expect(
      manifestText([
        { path: 'data/a.txt', sha256: a },
        { path: 'data/b c.txt', sha256: a },
      ]),
    ).toBe(`${a}  data/a.txt\n${a}  data/b c.txt\n`);
    expect(manifestText([])).toBe('');
  });

  it('reads back what it writes, and BagIt percent-encoding from other tools', () => {
    const h = sha256Hex('x');
    const parsed = parseManifest(`${h}  data/a b.txt\r\n${h.toUpperCase()} data/100%25.txt\n\n`, 'manifest-sha256.txt');
    expect(parsed.problems).toEqual([]);
    expect([...parsed.entries]).toEqual([
      ['data/a b.txt', h],
      ['data/100%.txt', h],
    ]);
  });

  it('reports unreadable lines and paths listed twice', () => {
    const h = sha256Hex('x');
    const parsed = parseManifest(`${h}  data/a\nnot a line\n${h}  data/a\n`, 'manifest-sha256.txt');
    expect(parsed.problems).toEqual([
      'manifest-sha256.txt line 2 is not "<sha256>  <path>": "not a line"',
      'manifest-sha256.txt lists data/a twice',
    ]);
  });
});
