import {describe, expect, it} from 'vitest'
import {UsageError} from '../../src/errors.js'
import type {LoadedPlaybook} from '../../src/engine/playbook.js'
import {parseParamFlags, resolveParams} from '../../src/engine/params.js'

function playbookWith(params: LoadedPlaybook['params']): LoadedPlaybook {
  return {name: 'demo', source: 'demo.yaml', builtIn: false, params, steps: [], onFailure: [], expect: [], text: ''}
}

const playbook = playbookWith({
  keep: {type: 'string-list', default: []},
  grace: {type: 'duration', default: '10s'},
  count: {type: 'number'},
  force: {type: 'boolean', default: false},
  label: {type: 'string'},
})

describe('resolveParams', () => {
  it('fills in the defaults and leaves out what has neither a value nor a default', () => {
    expect(resolveParams(playbook, {})).toEqual({keep: [], grace: '10s', force: false})
  })

  it('splits a string-list given as text on commas, trimming and dropping empty items', () => {
    expect(resolveParams(playbook, {keep: 'a,b'}).keep).toEqual(['a', 'b'])
    expect(resolveParams(playbook, {keep: ' a , ,b ,'}).keep).toEqual(['a', 'b'])
    expect(resolveParams(playbook, {keep: ''}).keep).toEqual([])
  })

  it('takes a string-list given as a list, as strings', () => {
    expect(resolveParams(playbook, {keep: ['monitoring', 'backup']}).keep).toEqual(['monitoring', 'backup'])
    expect(resolveParams(playbook, {keep: [1, 2]}).keep).toEqual(['1', '2'])
  })

  it('reads true, yes, 1, false, no and 0 as booleans, whatever the case', () => {
    for (const text of ['true', 'TRUE', 'yes', 'Yes', '1']) expect(resolveParams(playbook, {force: text}).force).toBe(true)
    for (const text of ['false', 'False', 'no', 'NO', '0']) expect(resolveParams(playbook, {force: text}).force).toBe(false)
    expect(resolveParams(playbook, {force: true}).force).toBe(true)
  })

  it('rejects a boolean that is neither true nor false', () => {
    expect(() => resolveParams(playbook, {force: 'maybe'})).toThrow(UsageError)
    expect(() => resolveParams(playbook, {force: 'maybe'})).toThrow('--param force: "maybe" is not true or false')
  })

  it('reads numbers from text and keeps numbers as they are', () => {
    expect(resolveParams(playbook, {count: '3'}).count).toBe(3)
    expect(resolveParams(playbook, {count: '2.5'}).count).toBe(2.5)
    expect(resolveParams(playbook, {count: 7}).count).toBe(7)
  })

  it('rejects a number that is not a number', () => {
    expect(() => resolveParams(playbook, {count: 'three'})).toThrow(UsageError)
    expect(() => resolveParams(playbook, {count: 'three'})).toThrow('--param count: "three" is not a number')
    expect(() => resolveParams(playbook, {count: 'Infinity'})).toThrow('is not a number')
  })

  it('rejects an empty number rather than reading it as zero', () => {
    expect(() => resolveParams(playbook, {count: ''})).toThrow(UsageError)
    expect(() => resolveParams(playbook, {count: '  '})).toThrow(UsageError)
  })

  it('keeps a duration as written once it is checked, and rejects a bad one', () => {
    expect(resolveParams(playbook, {grace: '30s'}).grace).toBe('30s')
    expect(resolveParams(playbook, {grace: 5}).grace).toBe(5)
    expect(() => resolveParams(playbook, {grace: 'soon'})).toThrow(UsageError)
    expect(() => resolveParams(playbook, {grace: 'soon'})).toThrow(/^--param grace: "soon" is not a duration/)
  })

  it('turns a string param into text', () => {
    expect(resolveParams(playbook, {label: 42}).label).toBe('42')
  })

  it('rejects a parameter the playbook does not declare, listing those it has', () => {
    expect(() => resolveParams(playbook, {nope: '1'})).toThrow(UsageError)
    expect(() => resolveParams(playbook, {nope: '1'})).toThrow('playbook demo has no parameter "nope"; it has keep, grace, count, force, label')
    expect(() => resolveParams(playbookWith({}), {nope: '1'})).toThrow(/^playbook demo has no parameter "nope"$/)
  })

  it('rejects a missing required parameter, saying how to give it', () => {
    const strict = playbookWith({image: {type: 'string', required: true}})
    expect(() => resolveParams(strict, {})).toThrow(UsageError)
    expect(() => resolveParams(strict, {})).toThrow('playbook demo needs --param image=<string>')
    expect(resolveParams(strict, {image: 'nginx'})).toEqual({image: 'nginx'})
  })

  it('is satisfied by the default of a required parameter', () => {
    expect(resolveParams(playbookWith({n: {type: 'number', required: true, default: 1}}), {})).toEqual({n: 1})
  })
})

describe('parseParamFlags', () => {
  it('turns NAME=VALUE flags into a record', () => {
    expect(parseParamFlags(['grace=10s', 'force=yes'])).toEqual({grace: '10s', force: 'yes'})
    expect(parseParamFlags([])).toEqual({})
  })

  it('splits at the first = only, so values may hold =', () => {
    expect(parseParamFlags(['filter=label=app=web'])).toEqual({filter: 'label=app=web'})
  })

  it('keeps an empty value', () => {
    expect(parseParamFlags(['keep='])).toEqual({keep: ''})
  })

  it('collects a repeated name into a list', () => {
    expect(parseParamFlags(['keep=a', 'keep=b', 'keep=c'])).toEqual({keep: ['a', 'b', 'c']})
  })

  it('rejects a flag without a name or without =', () => {
    expect(() => parseParamFlags(['=x'])).toThrow(UsageError)
    expect(() => parseParamFlags(['grace'])).toThrow('--param "grace": expected NAME=VALUE')
  })

  it('gives values that resolveParams coerces to the declared types', () => {
    const given = parseParamFlags(['keep=a', 'keep=b', 'count=4', 'force=no'])
    expect(resolveParams(playbook, given)).toEqual({keep: ['a', 'b'], grace: '10s', count: 4, force: false})
  })
})
