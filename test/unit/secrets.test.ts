import {describe, expect, it} from 'vitest'
import {looksSecret, mask, maskEnvEntry, maskSecrets} from '../../src/secrets.js'

describe('looksSecret', () => {
  it('recognises names that hold passwords, tokens, keys and credentials, in any case', () => {
    for (const name of ['DB_PASSWORD', 'passwd', 'GITHUB_TOKEN', 'client_secret', 'AWS_SECRET_ACCESS_KEY', 'api-key', 'CREDENTIALS', 'PRIVATE_PEM', 'BasicAuth']) {
      expect(looksSecret(name)).toBe(true)
    }
  })

  it('leaves ordinary names alone', () => {
    for (const name of ['PATH', 'HOME', 'NODE_ENV', 'Image', 'Hostname']) expect(looksSecret(name)).toBe(false)
  })
})

describe('maskEnvEntry', () => {
  it('masks the value of a secret-looking variable and keeps its name', () => {
    expect(maskEnvEntry('DB_PASSWORD=hunter2')).toBe('DB_PASSWORD=****')
    expect(maskEnvEntry('API_TOKEN=abc=def')).toBe('API_TOKEN=****')
    expect(maskEnvEntry('SECRET_KEY=')).toBe(`SECRET_KEY=${mask}`)
  })

  it('keeps an ordinary variable as it is', () => {
    expect(maskEnvEntry('PATH=/usr/local/bin:/usr/bin')).toBe('PATH=/usr/local/bin:/usr/bin')
  })

  it('keeps text that is not NAME=value as it is', () => {
    expect(maskEnvEntry('PASSWORD')).toBe('PASSWORD')
    expect(maskEnvEntry('=PASSWORD')).toBe('=PASSWORD')
    expect(maskEnvEntry('')).toBe('')
  })
})

describe('maskSecrets', () => {
  const inspect = {
    Id: 'abc',
    Config: {
      Env: ['PATH=/usr/bin', 'DB_PASSWORD=hunter2', 'GITHUB_TOKEN=ghp_xxx'],
      Labels: {'com.example.api-key': 'k-123', app: 'web', 'ssh-private-port': 2222},
      Cmd: ['server', '--token=abc'],
    },
    Password: 'top',
    AuthConfig: {username: 'u', password: 'p'},
    Count: 3,
    Ok: true,
    Nothing: null,
  }

  it('masks NAME=value strings and the values of secret-looking keys, however deep', () => {
    expect(maskSecrets(inspect)).toEqual({
      Id: 'abc',
      Config: {
        Env: ['PATH=/usr/bin', 'DB_PASSWORD=****', 'GITHUB_TOKEN=****'],
        Labels: {'com.example.api-key': '****', app: 'web', 'ssh-private-port': '****'},
        Cmd: ['server', '--token=****'],
      },
      Password: '****',
      AuthConfig: {username: 'u', password: '****'},
      Count: 3,
      Ok: true,
      Nothing: null,
    })
  })

  it('returns a copy and leaves the input unchanged', () => {
    const before = structuredClone(inspect)
    const masked = maskSecrets(inspect) as typeof inspect
    expect(inspect).toEqual(before)
    expect(masked).not.toBe(inspect)
    expect(masked.Config.Env).not.toBe(inspect.Config.Env)
  })

  it('keeps plain values as they are', () => {
    expect(maskSecrets('plain')).toBe('plain')
    expect(maskSecrets(42)).toBe(42)
    expect(maskSecrets(null)).toBe(null)
    expect(maskSecrets(undefined)).toBe(undefined)
  })

  it('stops descending after twenty levels', () => {
    let deep: unknown = {PASSWORD: 'x'}
    for (let i = 0; i < 30; i++) deep = {next: deep}
    expect(() => maskSecrets(deep)).not.toThrow()
    let shallow: unknown = {PASSWORD: 'x'}
    for (let i = 0; i < 5; i++) shallow = {next: shallow}
    expect(JSON.stringify(maskSecrets(shallow))).toContain('"PASSWORD":"****"')
  })
})
