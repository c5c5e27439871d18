import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {UsageError} from '../../src/errors.js'
import {builtInNames, loadPlaybook, parsePlaybook} from '../../src/engine/loader.js'
import {stepTypes} from '../../src/steps/registry.js'

/** YAML from lines, so that line and column numbers in the tests are easy to read off. */
const yaml = (...lines: string[]) => `${lines.join('\n')}\n`

function loadError(text: string): UsageError {
  try {
    parsePlaybook(text, 'pb.yaml')
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError)
    expect((error as UsageError).exitCode).toBe(2)
    return error as UsageError
  }
  throw new Error('the playbook loaded, but it should not have')
}

describe('parsePlaybook with a valid playbook', () => {
  const text = yaml(
    'name: demo',
    'description: A demo.',
    'params:',
    '  keep: { type: string-list, default: [] }',
    'steps:',
    '  - uses: evidence.inspect',
    '  - uses: evidence.inspect',
    '    continue-on-error: true',
    '  - id: cut',
    '    name: Cut the networks',
    '    uses: network.disconnect',
    '    with: { keep: "${{ params.keep }}" }',
    '    timeout: 10s',
    '    retry: { attempts: 3 }',
    '  - uses: group',
    '    retry: { attempts: 2, delay: 500ms, backoff: exponential, max-delay: 2s }',
    '    steps:',
    '      - uses: note',
    '        with: { text: "${{ steps.inspect.outputs.image }} on ${{ target.name }}" }',
    '        timeout: 5',
    '      - uses: note',
    '        with: { text: "${{ steps.cut.outputs.disconnected }}" }',
    '        timeout: 250ms',
    'on-failure:',
    '  - uses: note',
    '    with: { text: "failed on ${{ target.name }}" }',
  )
  const playbook = parsePlaybook(text, 'demo.yaml')

  it('keeps the name, description, source, text and params', () => {
    expect(playbook.name).toBe('demo')
    expect(playbook.description).toBe('A demo.')
    expect(playbook.source).toBe('demo.yaml')
    expect(playbook.builtIn).toBe(false)
    expect(playbook.text).toBe(text)
    expect(playbook.params).toEqual({keep: {type: 'string-list', default: []}})
    expect(playbook.expect).toEqual([])
  })

  it('names a step without an id after the last segment of its type, numbering repeats from 2', () => {
    expect(playbook.steps.map((s) => s.id)).toEqual(['inspect', 'inspect-2', 'cut', 'group'])
    expect(playbook.steps[3]!.steps!.map((s) => s.id)).toEqual(['note', 'note-2'])
    expect(playbook.onFailure.map((s) => s.id)).toEqual(['note-3'])
  })

  it('converts timeouts to milliseconds, a bare number being seconds', () => {
    expect(playbook.steps[2]!.timeoutMs).toBe(10_000)
    expect(playbook.steps[3]!.steps!.map((s) => s.timeoutMs)).toEqual([5000, 250])
  })

  it('takes the default timeout from the step type, and ten minutes for a group', () => {
    expect(playbook.steps[0]!.timeoutMs).toBe(stepTypes.get('evidence.inspect')!.timeout)
    expect(playbook.steps[3]!.timeoutMs).toBe(600_000)
  })

  it('fills in the defaults of a retry policy', () => {
    expect(playbook.steps[0]!.retry).toBeUndefined()
    expect(playbook.steps[2]!.retry).toEqual({attempts: 3, delay: '1s', backoff: 'fixed'})
    expect(playbook.steps[3]!.retry).toEqual({attempts: 2, delay: '500ms', backoff: 'exponential', 'max-delay': '2s'})
  })

  it('attaches the step type, the inputs as written and the place in the file', () => {
    const cut = playbook.steps[2]!
    expect(cut.type).toBe(stepTypes.get('network.disconnect'))
    expect(cut.name).toBe('Cut the networks')
    expect(cut.with).toEqual({keep: '${{ params.keep }}'})
    expect(cut.yamlPath).toBe('steps[2]')
    expect(playbook.steps[0]!.with).toEqual({})
    expect(playbook.steps[3]!.type).toBeUndefined()
    expect(playbook.steps[3]!.steps![1]!.yamlPath).toBe('steps[3].steps[1]')
    expect(playbook.onFailure[0]!.yamlPath).toBe('on-failure[0]')
  })

  it('marks continue-on-error, false unless given', () => {
    expect(playbook.steps.map((s) => s.continueOnError)).toEqual([false, true, false, false])
  })

  it('gives a playbook without params an empty set of them', () => {
    const bare = parsePlaybook(yaml('name: bare', 'steps:', '  - uses: evidence.inspect'), 'bare.yaml')
    expect(bare.params).toEqual({})
    expect(bare.onFailure).toEqual([])
    expect(bare.description).toBeUndefined()
  })

  it('lets a step after a group read the outputs of a step inside it', () => {
    const loaded = parsePlaybook(
      yaml(
        'name: nested',
        'steps:',
        '  - uses: group',
        '    steps:',
        '      - id: snap',
        '        uses: evidence.inspect',
        '  - uses: note',
        '    with: { text: "${{ steps.snap.outputs.image }} ${{ steps.group.outputs.whatever }}" }',
      ),
      'nested.yaml',
    )
    expect(loaded.steps.map((s) => s.id)).toEqual(['group', 'note'])
  })
})

describe('parsePlaybook errors', () => {
  it('rejects invalid YAML with the file, line and column', () => {
    const error = loadError(yaml('name: x', 'steps:', '  - uses: note', '   with: [', ''))
    expect(error.message).toMatch(/^pb\.yaml:\d+:\d+: not valid YAML: /)
  })

  it('rejects a repeated key as invalid YAML', () => {
    const error = loadError(yaml('name: x', 'name: y', 'steps:', '  - uses: evidence.inspect'))
    expect(error.message).toContain('not valid YAML: Map keys must be unique')
  })

  it('rejects an unknown top-level key, naming it', () => {
    const error = loadError(yaml('name: x', 'bogus: 1', 'steps:', '  - uses: evidence.inspect'))
    expect(error.message).toMatch(/^pb\.yaml:\d+:\d+: /)
    expect(error.message).toContain('Unrecognized key: "bogus"')
  })

  it('rejects a playbook without steps', () => {
    expect(loadError(yaml('name: x')).message).toMatch(/^pb\.yaml:\d+:\d+: steps: /)
    expect(loadError(yaml('name: x', 'steps: []')).message).toMatch(/^pb\.yaml:2:8: steps: Too small/)
  })

  it('rejects a name that is not an identifier', () => {
    expect(loadError(yaml('name: Not OK', 'steps:', '  - uses: evidence.inspect')).message).toContain(
      'pb.yaml:1:7: name: lower-case letters, digits, - and _, starting with a letter',
    )
  })

  it('rejects an unknown step type at steps[1].uses, listing the known ones', () => {
    const error = loadError(yaml('name: x', 'steps:', '  - uses: evidence.inspect', '  - uses: container.explode'))
    expect(error.message).toContain('pb.yaml:4:11: steps[1].uses: unknown step type "container.explode"; known: ')
    expect(error.message).toContain('network.disconnect')
    expect(error.message).toContain('group')
  })

  it('rejects a template that reads an unknown parameter', () => {
    const error = loadError(yaml('name: x', 'steps:', '  - uses: network.disconnect', '    with: { keep: "${{ params.nope }}" }'))
    expect(error.message).toContain('pb.yaml:4:19: steps[0].with.keep: template ${{ params.nope }}: unknown parameter "nope"')
  })

  it('rejects a template with an unknown root name', () => {
    const error = loadError(yaml('name: x', 'steps:', '  - uses: note', '    with: { text: "${{ env.HOME }}" }'))
    expect(error.message).toContain('steps[0].with.text: template ${{ env.HOME }}: unknown name "env"')
  })

  it('rejects a step that reads the outputs of a later step', () => {
    const error = loadError(
      yaml(
        'name: x',
        'steps:',
        '  - uses: note',
        '    with: { text: "${{ steps.snap.outputs.image }}" }',
        '  - id: snap',
        '    uses: evidence.inspect',
      ),
    )
    expect(error.message).toContain('pb.yaml:4:19: steps[0].with.text: template ${{ steps.snap.outputs.image }}: unknown step "snap"')
  })

  it('rejects a step that reads its own outputs', () => {
    const error = loadError(yaml('name: x', 'steps:', '  - id: me', '    uses: note', '    with: { text: "${{ steps.me.outputs.x }}" }'))
    expect(error.message).toContain('steps[0].with.text: template ${{ steps.me.outputs.x }}: unknown step "me"')
  })

  it('rejects an output the earlier step type does not declare', () => {
    const error = loadError(
      yaml('name: x', 'steps:', '  - id: snap', '    uses: evidence.inspect', '  - uses: note', '    with: { text: "${{ steps.snap.outputs.nope }}" }'),
    )
    expect(error.message).toContain('steps[1].with.text: template ${{ steps.snap.outputs.nope }}: step "snap" has no output "nope"')
  })

  it('rejects a step id used twice, pointing at the second one', () => {
    const error = loadError(yaml('name: x', 'steps:', '  - id: a', '    uses: evidence.inspect', '  - id: a', '    uses: evidence.networks'))
    expect(error.message).toContain('pb.yaml:5:9: steps[1].id: step id "a" is used twice')
  })

  it('rejects an explicit id that a step without an id already took', () => {
    const error = loadError(yaml('name: x', 'steps:', '  - uses: evidence.inspect', '  - id: inspect', '    uses: note', '    with: { text: hi }'))
    expect(error.message).toContain('steps[1].id: step id "inspect" is used twice')
  })

  it('rejects an id used twice across a group and the top level', () => {
    const error = loadError(
      yaml('name: x', 'steps:', '  - uses: group', '    steps:', '      - id: a', '        uses: evidence.inspect', '  - id: a', '    uses: evidence.networks'),
    )
    expect(error.message).toContain('steps[1].id: step id "a" is used twice')
  })

  it('rejects a group without steps', () => {
    expect(loadError(yaml('name: x', 'steps:', '  - uses: group')).message).toContain('pb.yaml:3:5: steps[0]: a group needs steps')
    expect(loadError(yaml('name: x', 'steps:', '  - uses: group', '    steps: []')).message).toContain('steps[0].steps: Too small')
  })

  it('rejects a group with inputs', () => {
    const error = loadError(yaml('name: x', 'steps:', '  - uses: group', '    with: { a: 1 }', '    steps:', '      - uses: evidence.inspect'))
    expect(error.message).toContain('steps[0].with: a group takes no inputs (with)')
  })

  it('rejects steps under a step that is not a group', () => {
    const error = loadError(yaml('name: x', 'steps:', '  - uses: evidence.inspect', '    steps:', '      - uses: evidence.networks'))
    expect(error.message).toContain('pb.yaml:5:7: steps[0].steps: only a group has steps; evidence.inspect does not')
  })

  it('rejects an input key the step type does not take', () => {
    const error = loadError(yaml('name: x', 'steps:', '  - uses: network.disconnect', '    with: { bogus: 1 }'))
    expect(error.message).toMatch(/^pb\.yaml:4:\d+: steps\[0\]\.with\.bogus: /)
    expect(error.message).toContain('bogus')
  })

  it('rejects a missing required input', () => {
    expect(loadError(yaml('name: x', 'steps:', '  - uses: note')).message).toContain('steps[0].with.text: ')
  })

  it('rejects an input of the wrong type, but not one a template fills in at run time', () => {
    expect(loadError(yaml('name: x', 'steps:', '  - uses: note', '    with: { text: 5 }')).message).toContain('pb.yaml:4:19: steps[0].with.text: ')
    const templated = yaml(
      'name: x',
      'params:',
      '  n: { type: number, default: 5 }',
      'steps:',
      '  - uses: note',
      '    with: { text: "${{ params.n }}" }',
    )
    expect(parsePlaybook(templated, 'pb.yaml').steps[0]!.with).toEqual({text: '${{ params.n }}'})
  })

  it('rejects a bad duration', () => {
    const error = loadError(yaml('name: x', 'steps:', '  - uses: evidence.inspect', '    timeout: 10 seconds'))
    expect(error.message).toContain('pb.yaml:4:14: steps[0].timeout: ')
    expect(loadError(yaml('name: x', 'steps:', '  - uses: evidence.inspect', '    timeout: -1')).message).toContain('steps[0].timeout: ')
  })

  it('rejects a bad retry policy', () => {
    const zero = loadError(yaml('name: x', 'steps:', '  - uses: evidence.inspect', '    retry: { attempts: 0 }'))
    expect(zero.message).toContain('steps[0].retry.attempts: ')
    const backoff = loadError(yaml('name: x', 'steps:', '  - uses: evidence.inspect', '    retry: { attempts: 2, backoff: linear }'))
    expect(backoff.message).toContain('steps[0].retry.backoff: ')
    const delay = loadError(yaml('name: x', 'steps:', '  - uses: evidence.inspect', '    retry: { attempts: 2, delay: soon }'))
    expect(delay.message).toContain('steps[0].retry.delay: ')
  })

  it('rejects a param default of the wrong type', () => {
    const error = loadError(yaml('name: x', 'params:', '  n: { type: number, default: "ten" }', 'steps:', '  - uses: evidence.inspect'))
    expect(error.message).toContain('pb.yaml:3:31: params.n.default: the default is not a number')
    const list = loadError(yaml('name: x', 'params:', '  keep: { type: string-list, default: [1, 2] }', 'steps:', '  - uses: evidence.inspect'))
    expect(list.message).toContain('params.keep.default: the default is not a string-list')
    const flag = loadError(yaml('name: x', 'params:', '  on: { type: boolean, default: "yes" }', 'steps:', '  - uses: evidence.inspect'))
    expect(flag.message).toContain('params.on.default: the default is not a boolean')
  })

  it('rejects an unknown param type', () => {
    const error = loadError(yaml('name: x', 'params:', '  n: { type: integer }', 'steps:', '  - uses: evidence.inspect'))
    expect(error.message).toContain('pb.yaml:3:14: params.n.type: ')
  })

  it('checks the on-failure steps as well', () => {
    const error = loadError(yaml('name: x', 'steps:', '  - uses: evidence.inspect', 'on-failure:', '  - uses: alert.nowhere'))
    expect(error.message).toContain('pb.yaml:5:11: on-failure[0].uses: unknown step type "alert.nowhere"')
  })
})

describe('loadPlaybook', () => {
  const dir = mkdtempSync(join(tmpdir(), 'firebreak-loader-'))
  afterAll(() => rmSync(dir, {recursive: true, force: true}))

  it('finds the built-in playbooks, isolate among them', () => {
    expect(builtInNames()).toContain('isolate')
    expect(builtInNames()).toEqual([...builtInNames()].sort())
  })

  it.each(builtInNames())('loads the built-in playbook %s', (name) => {
    const playbook = loadPlaybook(name)
    expect(playbook.name).toBe(name)
    expect(playbook.builtIn).toBe(true)
    expect(playbook.source).toBe(`playbooks/${name}.yaml`)
    expect(playbook.steps.length).toBeGreaterThan(0)
  })

  it('loads a playbook from a file path', () => {
    const file = join(dir, 'mine.yaml')
    writeFileSync(file, yaml('name: mine', 'steps:', '  - uses: evidence.inspect'))
    const playbook = loadPlaybook(file)
    expect(playbook.name).toBe('mine')
    expect(playbook.builtIn).toBe(false)
    expect(playbook.source).toBe(file)
  })

  it('names the file in the messages of a playbook file with a problem', () => {
    const file = join(dir, 'broken.yaml')
    writeFileSync(file, yaml('name: broken', 'steps:', '  - uses: nope.nope'))
    expect(() => loadPlaybook(file)).toThrow(`${file}:3:11: steps[0].uses: unknown step type "nope.nope"`)
  })

  it('rejects a reference that is neither a built-in nor a file, listing the built-ins', () => {
    expect(() => loadPlaybook('no-such-playbook')).toThrow(UsageError)
    expect(() => loadPlaybook('no-such-playbook')).toThrow(/neither a built-in \(.*isolate.*\) nor a file/)
  })
})
