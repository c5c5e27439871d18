import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {UsageError} from '../../src/errors.js'
import {resolveEndpoint} from '../../src/docker/connect.js'

describe('resolveEndpoint', () => {
  let certs: string
  beforeAll(() => {
    certs = mkdtempSync(join(tmpdir(), 'firebreak-certs-'))
    writeFileSync(join(certs, 'ca.pem'), 'CA PEM')
    writeFileSync(join(certs, 'cert.pem'), 'CERT PEM')
    writeFileSync(join(certs, 'key.pem'), 'KEY PEM')
  })
  afterAll(() => rmSync(certs, {recursive: true, force: true}))

  it('uses the local socket when neither --host nor DOCKER_HOST is given', () => {
    expect(resolveEndpoint(undefined, {})).toEqual({label: 'unix:///var/run/docker.sock', options: {socketPath: '/var/run/docker.sock'}})
    expect(resolveEndpoint('  ', {DOCKER_HOST: ''}).options).toEqual({socketPath: '/var/run/docker.sock'})
  })

  it('reads a unix:// address as a socket path', () => {
    expect(resolveEndpoint('unix:///run/user/1000/docker.sock', {})).toEqual({
      label: 'unix:///run/user/1000/docker.sock',
      options: {socketPath: '/run/user/1000/docker.sock'},
    })
  })

  it('takes the default socket for unix:// without a path', () => {
    expect(resolveEndpoint('unix://', {}).options).toEqual({socketPath: '/var/run/docker.sock'})
  })

  it('reads a bare absolute path as a socket path', () => {
    expect(resolveEndpoint('/tmp/docker.sock', {})).toEqual({label: 'unix:///tmp/docker.sock', options: {socketPath: '/tmp/docker.sock'}})
  })

  it('reads tcp://host:2375 as plain http', () => {
    expect(resolveEndpoint('tcp://10.0.0.5:2375', {})).toEqual({
      label: 'tcp://10.0.0.5:2375',
      options: {host: '10.0.0.5', port: 2375, protocol: 'http'},
    })
  })

  it('takes port 2375 when a tcp address has none, and tcp:// when it has no scheme', () => {
    expect(resolveEndpoint('tcp://docker.internal', {}).options).toEqual({host: 'docker.internal', port: 2375, protocol: 'http'})
    expect(resolveEndpoint('docker.internal:2375', {}).options).toEqual({host: 'docker.internal', port: 2375, protocol: 'http'})
  })

  it('speaks https on port 2376', () => {
    expect(resolveEndpoint('tcp://10.0.0.5:2376', {})).toEqual({
      label: 'tcp://10.0.0.5:2376 (TLS)',
      options: {host: '10.0.0.5', port: 2376, protocol: 'https'},
    })
  })

  it('speaks https for an https:// address', () => {
    expect(resolveEndpoint('https://10.0.0.5:2400', {}).options.protocol).toBe('https')
  })

  it('speaks https with the certificates of DOCKER_CERT_PATH when DOCKER_TLS_VERIFY=1', () => {
    const endpoint = resolveEndpoint('tcp://10.0.0.5:2375', {DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs})
    expect(endpoint.label).toBe('tcp://10.0.0.5:2375 (TLS)')
    expect(endpoint.options.protocol).toBe('https')
    expect(endpoint.options.ca?.toString()).toBe('CA PEM')
    expect(endpoint.options.cert?.toString()).toBe('CERT PEM')
    expect(endpoint.options.key?.toString()).toBe('KEY PEM')
  })

  it('reads the certificates for port 2376 too', () => {
    const endpoint = resolveEndpoint('tcp://10.0.0.5:2376', {DOCKER_CERT_PATH: certs})
    expect(endpoint.options.ca).toBeInstanceOf(Buffer)
    expect(endpoint.options.key?.toString()).toBe('KEY PEM')
  })

  it('does not read certificates for plain http', () => {
    const endpoint = resolveEndpoint('tcp://10.0.0.5:2375', {DOCKER_CERT_PATH: certs})
    expect(endpoint.options).toEqual({host: '10.0.0.5', port: 2375, protocol: 'http'})
  })

  it('rejects a DOCKER_CERT_PATH without the certificate files', () => {
    const empty = mkdtempSync(join(tmpdir(), 'firebreak-nocerts-'))
    try {
      expect(() => resolveEndpoint('tcp://10.0.0.5:2376', {DOCKER_CERT_PATH: empty})).toThrow(UsageError)
      expect(() => resolveEndpoint('tcp://10.0.0.5:2376', {DOCKER_CERT_PATH: empty})).toThrow(
        `DOCKER_CERT_PATH: ${join(empty, 'ca.pem')} does not exist`,
      )
    } finally {
      rmSync(empty, {recursive: true, force: true})
    }
  })

  it('reads ssh://user@host with port 22 and the ssh agent', () => {
    expect(resolveEndpoint('ssh://ops@bastion.example', {SSH_AUTH_SOCK: '/tmp/agent.sock'})).toEqual({
      label: 'ssh://ops@bastion.example',
      options: {protocol: 'ssh', host: 'bastion.example', port: 22, username: 'ops', sshOptions: {agent: '/tmp/agent.sock'}},
    })
  })

  it('reads the port and a missing user of an ssh address', () => {
    const endpoint = resolveEndpoint('ssh://bastion.example:2222', {})
    expect(endpoint.label).toBe('ssh://bastion.example')
    expect(endpoint.options.port).toBe(2222)
    expect(endpoint.options.username).toBeUndefined()
  })

  it('rejects an unsupported scheme', () => {
    expect(() => resolveEndpoint('ftp://10.0.0.5', {})).toThrow(UsageError)
    expect(() => resolveEndpoint('ftp://10.0.0.5', {})).toThrow('unsupported scheme ftp:')
    expect(() => resolveEndpoint('npipe:////./pipe/docker_engine', {})).toThrow(UsageError)
  })

  it('rejects text that is not an address', () => {
    expect(() => resolveEndpoint('not an address', {})).toThrow(UsageError)
    expect(() => resolveEndpoint('not an address', {})).toThrow('is not an engine address')
  })

  it('uses DOCKER_HOST when no --host is given', () => {
    expect(resolveEndpoint(undefined, {DOCKER_HOST: 'tcp://10.0.0.7:2375'}).label).toBe('tcp://10.0.0.7:2375')
    expect(resolveEndpoint(undefined, {DOCKER_HOST: 'unix:///custom.sock'}).options).toEqual({socketPath: '/custom.sock'})
  })

  it('prefers --host over DOCKER_HOST', () => {
    expect(resolveEndpoint('unix:///mine.sock', {DOCKER_HOST: 'tcp://10.0.0.7:2375'}).options).toEqual({socketPath: '/mine.sock'})
  })

  it('reads process.env when no environment is passed', () => {
    const saved = process.env.DOCKER_HOST
    process.env.DOCKER_HOST = 'tcp://10.9.8.7:2375'
    try {
      expect(resolveEndpoint(undefined).label).toBe('tcp://10.9.8.7:2375')
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST
      else process.env.DOCKER_HOST = saved
    }
  })
})
