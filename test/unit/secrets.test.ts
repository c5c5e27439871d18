import { describe, expect, it } from 'vitest';
import { looksSecret, mask, maskEnvEntry, maskSecrets, maskText } from '../../src/secrets.js';

describe('looksSecret', () => {
  it('recognises names that hold passwords, tokens, keys and credentials, in any case', () => {
    for (const name of [
      'DB_PASSWORD',
      'passwd',
      'GITHUB_TOKEN',
      'client_secret',
      'AWS_SECRET_ACCESS_KEY',
      'api-key',
      'CREDENTIALS',
      'PRIVATE_PEM',
      'BasicAuth',
    ]) {
      expect(looksSecret(name)).toBe(true);
    }
  });

  it('leaves ordinary names alone', () => {
    for (const name of ['PATH', 'HOME', 'NODE_ENV', 'Image', 'Hostname']) expect(looksSecret(name)).toBe(false);
  });

  it('recognises short secret words used as whole words: a PAT, PGPASS, a Stripe SK, a DSN, *_PASS and *_PWD', () => {
    for (const name of [
      'GITHUB_PAT',
      'PGPASS',
      'STRIPE_SK',
      'SENTRY_DSN',
      'DB_PASS',
      'SMTP_PASS',
      'MYSQL_PWD',
      'dbPass',
      'REDIS_PW',
      'API_KEY',
      'GOOGLE_APPLICATION_CREDENTIALS',
      'PROXY_AUTH',
      'SSH_PRIVATE',
      'GPG_PASSPHRASE',
      'SLACK_WEBHOOK_URL',
    ]) {
      expect(looksSecret(name), name).toBe(true);
    }
  });

  it("does not take PATH for a PAT, PASSTHROUGH or COMPASS for a PASS, DISK for an SK, or the shell's PWD for a password", () => {
    for (const name of [
      'PATH',
      'LD_LIBRARY_PATH',
      'PASSTHROUGH',
      'COMPASS_URL',
      'DISK',
      'TASK_ID',
      'PWD',
      'OLDPWD',
      'SKIP_TESTS',
      'PATTERN',
    ]) {
      expect(looksSecret(name), name).toBe(false);
    }
  });
});

describe('maskText', () => {
  it('masks the password of a URL and keeps the user, host and path', () => {
    expect(maskText('postgres://u:pw@h/db')).toBe('postgres://u:****@h/db');
    expect(maskText('redis://:pw@h:6379/0')).toBe('redis://:****@h:6379/0');
    expect(maskText('amqp://guest:p@ss@rabbit:5672/')).toBe('amqp://guest:****@rabbit:5672/');
  });

  it('masks a user name alone, which is the key of a DSN', () => {
    expect(maskText('https://abc123key@o42.ingest.sentry.io/1')).toBe('https://****@o42.ingest.sentry.io/1');
  });

  it('leaves URLs without user information, and @ after the host, alone', () => {
    expect(maskText('https://example.com/a@b?x=@y')).toBe('https://example.com/a@b?x=@y');
    expect(maskText('mail ops@example.com')).toBe('mail ops@example.com');
  });

  it('masks password=, pwd=, token= and secret= inside connection strings and text', () => {
    expect(maskText('jdbc:postgresql://db:5432/app?user=app&password=pw1&ssl=true')).toBe(
      'jdbc:postgresql://db:5432/app?user=app&password=****&ssl=true',
    );
    expect(maskText('Server=db;Uid=sa;Pwd=pw2;Database=app')).toBe('Server=db;Uid=sa;Pwd=****;Database=app');
    expect(maskText('curl -d token=t0k secret="a b" x=1')).toBe('curl -d token=**** secret=**** x=1');
    expect(maskText('login with API_TOKEN=abc123 refused')).toBe('login with API_TOKEN=**** refused');
  });
});

describe('maskEnvEntry', () => {
  it('masks the value of a secret-looking variable and keeps its name', () => {
    expect(maskEnvEntry('DB_PASSWORD=hunter2')).toBe('DB_PASSWORD=****');
    expect(maskEnvEntry('API_TOKEN=abc=def')).toBe('API_TOKEN=****');
    expect(maskEnvEntry('SECRET_KEY=')).toBe(`SECRET_KEY=${mask}`);
  });

  it('masks the user information of a URL in the value of an ordinary name', () => {
    expect(maskEnvEntry('DATABASE_URL=postgres://u:pw@h/db')).toBe('DATABASE_URL=postgres://u:****@h/db');
    expect(maskEnvEntry('REDIS_URL=redis://:pw@h')).toBe('REDIS_URL=redis://:****@h');
    expect(maskEnvEntry('SENTRY_DSN=https://key@o.ingest/1')).toBe('SENTRY_DSN=****');
    expect(maskEnvEntry('ERROR_REPORTING=https://key@o.ingest/1')).toBe('ERROR_REPORTING=https://****@o.ingest/1');
  });

  it('masks password= inside the value of an ordinary name', () => {
    expect(maskEnvEntry('JDBC=jdbc:mysql://db/app?user=u&password=pw')).toBe(
      'JDBC=jdbc:mysql://db/app?user=u&password=****',
    );
  });

  it('keeps an ordinary variable as it is', () => {
    expect(maskEnvEntry('PATH=/usr/local/bin:/usr/bin')).toBe('PATH=/usr/local/bin:/usr/bin');
  });

  it('keeps text that is not NAME=value as it is', () => {
    expect(maskEnvEntry('PASSWORD')).toBe('PASSWORD');
    expect(maskEnvEntry('=PASSWORD')).toBe('=PASSWORD');
    expect(maskEnvEntry('')).toBe('');
  });
});

describe('maskSecrets', () => {
  const inspect = {
    Id: 'abc',
    Config: {
      Env: ['PATH=/usr/bin', 'DB_PASSWORD=hunter2', 'GITHUB_TOKEN=ghp_xxx'],
      Labels: { 'com.example.api-key': 'k-123', app: 'web', 'ssh-private-port': 2222 },
      Cmd: ['server', '--token=abc'],
    },
    Password: 'top',
    AuthConfig: { username: 'u', password: 'p' },
    Count: 3,
    Ok: true,
    Nothing: null,
  };

  it('masks NAME=value strings and the values of secret-looking keys, however deep', () => {
    expect(maskSecrets(inspect)).toEqual({
      Id: 'abc',
      Config: {
        Env: ['PATH=/usr/bin', 'DB_PASSWORD=****', 'GITHUB_TOKEN=****'],
        Labels: { 'com.example.api-key': '****', app: 'web', 'ssh-private-port': '****' },
        Cmd: ['server', '--token=****'],
      },
      Password: '****',
      AuthConfig: { username: 'u', password: '****' },
      Count: 3,
      Ok: true,
      Nothing: null,
    });
  });

  it('masks URL user information in values and labels, and reads what JSON would write of an object', () => {
    const doc = {
      Env: ['DATABASE_URL=postgres://u:pw@h/db'],
      Labels: { backup: 's3://AKIA:sk@bucket/x' },
      url: { toJSON: () => 'http://u:pw@h/' },
    };
    expect(maskSecrets(doc)).toEqual({
      Env: ['DATABASE_URL=postgres://u:****@h/db'],
      Labels: { backup: 's3://AKIA:****@bucket/x' },
      url: 'http://u:****@h/',
    });
  });

  it('returns a copy and leaves the input unchanged', () => {
    const before = structuredClone(inspect);
    const masked = maskSecrets(inspect) as typeof inspect;
    expect(inspect).toEqual(before);
    expect(masked).not.toBe(inspect);
    expect(masked.Config.Env).not.toBe(inspect.Config.Env);
  });

  it('keeps plain values as they are', () => {
    expect(maskSecrets('plain')).toBe('plain');
    expect(maskSecrets(42)).toBe(42);
    expect(maskSecrets(null)).toBe(null);
    expect(maskSecrets(undefined)).toBe(undefined);
  });

  it('stops descending after twenty levels', () => {
    let deep: unknown = { PASSWORD: 'x' };
    for (let i = 0; i < 30; i++) deep = { next: deep };
    expect(() => maskSecrets(deep)).not.toThrow();
    let shallow: unknown = { PASSWORD: 'x' };
    for (let i = 0; i < 5; i++) shallow = { next: shallow };
    expect(JSON.stringify(maskSecrets(shallow))).toContain('"PASSWORD":"****"');
  });
});
