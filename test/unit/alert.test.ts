import {describe, expect, it} from 'vitest'
import {redact, webhookPayload, webhookStep, webhookUrl} from '../../src/steps/alert.js'

const ctx = {
  incident: 'INC-7',
  playbook: 'quarantine',
  runId: 'run-1',
  target: {id: 'abc123', name: 'web-1', image: 'nginx:1', imageId: '', labels: {}},
}

describe('webhookUrl', () => {
  it('takes the step input before the environment', () => {
    const env = {FIREBREAK_WEBHOOK_URL: 'https://env.example/hook'}
    expect(webhookUrl('https://input.example/hook', env)?.host).toBe('input.example')
    expect(webhookUrl(undefined, env)?.host).toBe('env.example')
    expect(webhookUrl('', env)?.host).toBe('env.example')
  })

  it('answers undefined when neither is set, which the step turns into a skip', () => {
    expect(webhookUrl(undefined, {})).toBeUndefined()
    expect(webhookUrl('  ', {FIREBREAK_WEBHOOK_URL: ''})).toBeUndefined()
  })

  it('refuses what is not an http(s) URL without echoing its path', () => {
    expect(() => webhookUrl('not a url', {})).toThrow(/is not a URL/)
    expect(() => webhookUrl('file:///etc/passwd', {})).toThrow(/must be http\(s\), not file:/)
  })
})

describe('webhookPayload', () => {
  it('carries the text, incident, playbook, run and target', () => {
    const at = new Date('2026-11-29T03:15:00Z')
    expect(webhookPayload(ctx, 'contained', undefined, at)).toEqual({
      text: 'contained',
      source: 'firebreak',
      incident: 'INC-7',
      playbook: 'quarantine',
      run: 'run-1',
      target: {id: 'abc123', name: 'web-1', image: 'nginx:1'},
      at: '2026-11-29T03:15:00.000Z',
    })
  })

  it('adds details only when there are some', () => {
    expect(webhookPayload(ctx, 't', {severity: 'high'}).details).toEqual({severity: 'high'})
    expect(webhookPayload(ctx, 't', {})).not.toHaveProperty('details')
  })
})

describe('redact', () => {
  it('keeps only the origin, since webhook paths hold the secret', () => {
    expect(redact('https://hooks.slack.com/services/T000/B000/XXXX')).toBe('https://hooks.slack.com')
  })
})

describe('alert.webhook input', () => {
  it('takes text, url and details and nothing else', () => {
    expect(webhookStep.input.safeParse({text: 'hi', url: 'https://x.example', details: {a: 1}}).success).toBe(true)
    expect(webhookStep.input.safeParse({}).success).toBe(true)
    expect(webhookStep.input.safeParse({channel: '#ops'}).success).toBe(false)
  })
})
