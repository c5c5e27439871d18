import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { answer, checkAnswer } from '../../src/docker/shape.js';
import { EngineError, EngineUnreachableError } from '../../src/errors.js';

const processList = answer(
  'a process list',
  z.looseObject({ Titles: z.array(z.string()), Processes: z.array(z.array(z.string())).nullable() }),
);
const changes = answer('a list of changes', z.array(z.looseObject({ Path: z.string(), Kind: z.number() })), []);
const top = 'GET /containers/web-1/top';

/** The error a check throws, for assertions on its type and message. */
function failure(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('the check passed');
}

describe('checkAnswer', () => {
  it('passes a well-formed answer through, with the engine document kept as raw', () => {
    const doc = { Titles: ['PID', 'CMD'], Processes: [['1', 'sleep']], Extra: { kept: true } };
    const checked = checkAnswer(processList, doc, top);
    expect(checked.value.Processes).toEqual([['1', 'sleep']]);
    expect(checked.raw).toBe(doc);
  });

  it('reads the JSON null that dockerode hands back as a Buffer as the empty value the API defines', () => {
    expect(checkAnswer(changes, Buffer.from('null'), 'GET /containers/web-1/changes')).toEqual({ value: [], raw: [] });
    expect(checkAnswer(changes, null, 'GET /containers/web-1/changes').value).toEqual([]);
  });

  it('reads an empty body (an empty Buffer) as the empty value where the API defines one', () => {
    expect(checkAnswer(changes, Buffer.alloc(0), 'GET /containers/web-1/changes').value).toEqual([]);
    expect(checkAnswer(changes, Buffer.from(' \n'), 'GET /containers/web-1/changes').value).toEqual([]);
  });

  it('refuses an empty body where the API defines no empty value, naming the request', () => {
    const error = failure(() => checkAnswer(processList, Buffer.alloc(0), top));
    expect(error).toBeInstanceOf(EngineError);
    expect(error.message).toBe('GET /containers/web-1/top answered an empty body, not a process list');
  });

  it('refuses a null answer where the API defines no empty value', () => {
    expect(failure(() => checkAnswer(processList, Buffer.from('null'), top)).message).toBe(
      'GET /containers/web-1/top answered null, not a process list',
    );
  });

  it('never returns a Buffer: JSON in a Buffer is read back to its value', () => {
    const checked = checkAnswer(processList, Buffer.from('{"Titles":["PID"],"Processes":null}'), top);
    expect(Buffer.isBuffer(checked.raw)).toBe(false);
    expect(checked.value).toEqual({ Titles: ['PID'], Processes: null });
  });

  it('refuses an answer of the wrong type, saying what came and where it was wrong', () => {
    const list = failure(() => checkAnswer(processList, [], top));
    expect(list).toBeInstanceOf(EngineError);
    expect(list.message).toMatch(/^GET \/containers\/web-1\/top answered a list, not a process list \(/);
    const field = failure(() => checkAnswer(processList, { Titles: 'PID', Processes: [] }, top));
    expect(field.message).toMatch(/answered an object, not a process list \(.* at Titles\)$/);
    expect(failure(() => checkAnswer(changes, Buffer.from('0'), 'GET /containers/web-1/changes')).message).toMatch(
      /answered a number, not a list of changes/,
    );
  });

  it('reads a body that is not JSON at all as an address that is not a Docker engine (exit 3)', () => {
    const error = failure(() =>
      checkAnswer(
        processList,
        Buffer.from('<html><head><title>It works</title></head></html>'),
        top,
        'tcp://127.0.0.1:8080',
      ),
    );
    expect(error).toBeInstanceOf(EngineUnreachableError);
    expect(error.message).toBe(
      'tcp://127.0.0.1:8080 is not a Docker engine (it answered GET /containers/web-1/top with text, not JSON: It works)',
    );
  });

  it('accepts a string body the same way as a Buffer', () => {
    expect(checkAnswer(changes, '[{"Path":"/tmp","Kind":0}]', 'GET /containers/web-1/changes').value).toEqual([
      { Path: '/tmp', Kind: 0 },
    ]);
  });
});
