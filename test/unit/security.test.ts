// Security defaults, the pure parts: bag names from engine names, the warning for an evidence
// folder others can reach, and the escaping of reports and log lines.
import { describe, expect, it } from 'vitest';
import { checkArtifactPath, entryName } from '../../src/evidence/naming.js';
import { exposureOf } from '../../src/evidence/folder.js';
import { escapeRawControls } from '../../src/log.js';
import { htmlText, markdownCode, markdownText, visible } from '../../src/report/escape.js';
import { maskParams, maskUrlPaths } from '../../src/secrets.js';

describe('entryName', () => {
  it('keeps a name the engine allows as it is', () => {
    expect(entryName('web-1')).toBe('web-1');
    expect(entryName('my_app.db-2', '.tar')).toBe('my_app.db-2.tar');
  });

  it('never gives . or .., a slash, or a control character, and names that differ keep different segments', () => {
    const names = ['..', '.', '', '../../etc', 'a/b', 'a\nb', 'a b', '%2e%2e', '...'];
    const segments = names.map((n) => entryName(n));
    for (const s of segments) {
      expect(s).toMatch(/^[A-Za-z0-9_.-]+$/);
      expect(['.', '..']).not.toContain(s);
      expect(() => checkArtifactPath(`targets/${s}/inspect.json`)).not.toThrow();
    }
    expect(new Set(segments).size).toBe(names.length);
  });

  it('shortens a long name to 128 characters with its suffix, keeping its start and a hash of the whole', () => {
    const long = `web-${'x'.repeat(300)}`;
    const other = `web-${'x'.repeat(299)}y`;
    expect(entryName(long, '.tar')).toHaveLength(128);
    expect(entryName(long, '.tar')).toMatch(/^web-x+-[0-9a-f]{12}\.tar$/);
    expect(entryName(long)).not.toBe(entryName(other));
    expect(entryName(long)).toBe(entryName(long));
  });
});

describe('checkArtifactPath', () => {
  it('refuses a segment no file system can hold', () => {
    expect(() => checkArtifactPath(`targets/${'x'.repeat(256)}/inspect.json`)).toThrow(
      /longer than a file name may be/,
    );
    expect(() => checkArtifactPath(`targets/${'x'.repeat(255)}/inspect.json`)).not.toThrow();
  });
});

describe('exposureOf', () => {
  const uid = process.getuid!();
  it('says nothing of a folder only its owner can reach', () => {
    expect(exposureOf({ mode: 0o40700, uid }, '/e')).toBeUndefined();
  });

  it('names who can list, and who can also delete or replace, and the fix', () => {
    expect(exposureOf({ mode: 0o40755, uid }, '/e')).toBe(
      'evidence folder /e (mode 0755): its group and every user can list its bundles (their names, not their contents: bundles are 0600); chmod 700 /e',
    );
    expect(exposureOf({ mode: 0o40750, uid }, '/e')).toMatch(/: its group can list its bundles/);
    expect(exposureOf({ mode: 0o40770, uid }, '/e')).toMatch(
      /: its group can list, delete or replace its bundles; chmod 700 \/e$/,
    );
    expect(exposureOf({ mode: 0o41777, uid }, '/e')).toMatch(
      /\(mode 0777\): its group and every user can list, delete or replace/,
    );
  });

  it('names another owner, who can always delete or replace', () => {
    expect(exposureOf({ mode: 0o40700, uid: uid + 4242 }, '/e')).toBe(
      `evidence folder /e (mode 0700): it belongs to uid ${uid + 4242}, who can delete or replace its bundles; use a folder of your own (--evidence-dir)`,
    );
  });
});

describe('Markdown escaping', () => {
  it('turns links, images, HTML, pipes, backticks and emphasis into text', () => {
    expect(markdownText('[click](javascript:alert(1))')).toBe('\\[click\\](javascript:alert(1))');
    expect(markdownText('![x](http://tracker/p.png)')).toBe('!\\[x\\](http://tracker/p.png)');
    expect(markdownText('](javascript:alert(1))')).toBe('\\](javascript:alert(1))');
    expect(markdownText('<script>alert(1)</script>')).toBe('&lt;script>alert(1)&lt;/script>');
    expect(markdownText('a | b')).toBe('a \\| b');
    expect(markdownText('`code` *bold* ~~gone~~ \\')).toBe('\\`code\\` \\*bold\\* \\~\\~gone\\~\\~ \\\\');
  });

  it('keeps a row on one line and makes controls and bidi characters visible', () => {
    expect(markdownText('a\nb\r\nc\rd')).toBe('a b c d');
    expect(markdownText('\u001b[2J')).toBe('\\\\u001b\\[2J');
    expect(visible('abc\u202edcba\u2066\u2028\u0085')).toBe('abc\\u202edcba\\u2066\\u2028\\u0085');
  });

  it('fences a code span with more backticks than any run inside it', () => {
    expect(markdownCode('plain')).toBe('`plain`');
    expect(markdownCode('a`b')).toBe('``a`b``');
    expect(markdownCode('run `id` and ``x``')).toBe('``` run `id` and ``x`` ```');
    expect(markdownCode('`x`')).toBe('`` `x` ``');
    expect(markdownCode('a|b')).toBe('`a\\|b`');
    expect(markdownCode('a|b', false)).toBe('`a|b`');
    expect(markdownCode('')).toBe('');
  });
});

describe('HTML escaping', () => {
  it('escapes markup and quotes, and makes controls visible', () => {
    expect(htmlText(`<img src=x onerror="alert('1')">&`)).toBe(
      '&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;',
    );
    expect(htmlText('\u001b]0;x\u0007')).toBe('\\u001b]0;x\\u0007');
  });
});

describe('escapeRawControls', () => {
  it('writes DEL and C1 controls in a JSON line as escapes, keeping the line valid JSON with the same value', () => {
    const value = { msg: 'a\u009b31m\u007fb', n: 1 };
    const line = `${JSON.stringify(value)}\n`;
    const escaped = escapeRawControls(line);
    expect(escaped).not.toMatch(/[\u007f-\u009f]/);
    expect(JSON.parse(escaped)).toEqual(value);
  });
});

describe('maskParams', () => {
  it('keeps only the scheme and host of every URL in a param, and masks a secret-looking param whole', () => {
    expect(
      maskParams({
        hook: 'https://hooks.slack.com/services/T0/B0/xyz',
        notify: 'https://ops:pw@hooks.example/h?token=abc',
        hooks: ['https://a.example/x', 'https://b.example'],
        'api-token': 'abc',
        grace: '10s',
        empty: '',
        export: false,
      }),
    ).toEqual({
      hook: 'https://hooks.slack.com/****',
      notify: 'https://hooks.example/****',
      hooks: ['https://a.example/****', 'https://b.example'],
      'api-token': '****',
      grace: '10s',
      empty: '',
      export: false,
    });
  });

  it('finds URLs inside text and leaves other text alone', () => {
    expect(maskUrlPaths('post to http://127.0.0.1:9/services/T0 now')).toBe('post to http://127.0.0.1:9/**** now');
    expect(maskUrlPaths('registry.example.com/app:1 and https://x.example/')).toBe(
      'registry.example.com/app:1 and https://x.example/',
    );
  });
});
