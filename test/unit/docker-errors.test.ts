import { describe, expect, it } from 'vitest';
import { foreignBody, mapDockerError } from '../../src/docker/errors.js';
import { EngineError, EngineUnreachableError, isRetryable } from '../../src/errors.js';

/** An error as docker-modem builds it for a refused request. */
function refusal(statusCode: number, body: unknown): Error {
  const message = typeof body === 'object' && body && 'message' in body ? String(body.message) : String(body);
  return Object.assign(new Error(`(HTTP code ${statusCode}) unexpected - ${message} `), { statusCode, json: body });
}

const call = { what: 'disconnect web-1 from backend', request: 'POST /networks/backend/disconnect' };
const at = 'unix:///var/run/docker.sock';

describe('mapDockerError', () => {
  it('keeps the engine message and the status', () => {
    const error = mapDockerError(refusal(404, { message: 'No such container: web-1' }), call, at) as EngineError;
    expect(error).toBeInstanceOf(EngineError);
    expect(error.message).toBe('disconnect web-1 from backend: engine said: No such container: web-1');
    expect(error.statusCode).toBe(404);
    expect(error.notFound).toBe(true);
  });

  it('marks no such container (404), a bad request (400) and forbidden (403) as not worth a retry', () => {
    for (const status of [400, 403, 404]) {
      const error = mapDockerError(refusal(status, { message: 'no' }), call, at);
      expect(isRetryable(error), `HTTP ${status}`).toBe(false);
    }
  });

  it('marks a conflict (409) and a server error (500) as worth a retry', () => {
    expect(isRetryable(mapDockerError(refusal(409, { message: 'container is restarting' }), call, at))).toBe(true);
    expect(isRetryable(mapDockerError(refusal(500, { message: 'context deadline exceeded' }), call, at))).toBe(true);
  });

  it('marks the refusal to move a container out of the host network namespace as final, whatever the status', () => {
    const messages = [
      'container cannot be disconnected from host network or connected to host network',
      'container sharing network namespace with another container or host cannot be connected to any other network',
    ];
    for (const message of messages) {
      for (const status of [400, 500])
        expect(isRetryable(mapDockerError(refusal(status, { message }), call, at))).toBe(false);
    }
  });

  it('maps a refused socket to exit 3 and lets it be retried (an engine restarting)', () => {
    const error = mapDockerError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), call, at);
    expect(error).toBeInstanceOf(EngineUnreachableError);
    expect(error.message).toBe('cannot reach the Docker engine at unix:///var/run/docker.sock: ECONNREFUSED');
    expect(isRetryable(error)).toBe(true);
  });

  it('says the engine stopped answering, naming the request, when the connection breaks mid-call (exit 3, retried)', () => {
    for (const code of ['ECONNRESET', 'EPIPE']) {
      const error = mapDockerError(Object.assign(new Error('socket hang up'), { code }), call, at);
      expect(error).toBeInstanceOf(EngineUnreachableError);
      expect(error.message).toBe(
        `the Docker engine at unix:///var/run/docker.sock stopped answering during POST /networks/backend/disconnect (${code})`,
      );
      expect(isRetryable(error)).toBe(true);
    }
  });

  it('does not retry a permission denied on the socket', () => {
    const error = mapDockerError(Object.assign(new Error('connect EACCES'), { code: 'EACCES' }), call, at);
    expect(error.message).toMatch(/EACCES \(permission denied: run as root or join the docker group\)$/);
    expect(isRetryable(error)).toBe(false);
  });

  it('maps an HTML error page to "not a Docker engine" (exit 3) with its title, not the page', () => {
    const page = Buffer.from(
      '<!DOCTYPE html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1><p>x</p></body></html>',
    );
    const error = mapDockerError(
      refusal(404, page),
      { what: 'version', request: 'GET /version' },
      'tcp://127.0.0.1:8080',
    );
    expect(error).toBeInstanceOf(EngineUnreachableError);
    expect(error.message).toBe(
      'tcp://127.0.0.1:8080 is not a Docker engine (it answered HTTP 404 to GET /version: 404 Not Found)',
    );
    expect(isRetryable(error)).toBe(false);
  });

  it('reads the 304 of a stop on a stopped container (an empty body) as the engine speaking', () => {
    const error = mapDockerError(refusal(304, Buffer.alloc(0)), call, at);
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).statusCode).toBe(304);
  });

  it('maps every failure of the ssh transport to exit 3, and a refused login as final', () => {
    const socket = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
      code: 'ECONNREFUSED',
      level: 'client-socket',
    });
    const lost = Object.assign(new Error('Connection lost before handshake'), { level: 'protocol' });
    const login = Object.assign(new Error('All configured authentication methods failed'), {
      level: 'client-authentication',
    });
    const timeout = Object.assign(new Error('Timed out while waiting for handshake'), { level: 'client-timeout' });
    const where = 'ssh://nobody@127.0.0.1:1';
    for (const error of [socket, lost, login, timeout])
      expect(mapDockerError(error, call, where)).toBeInstanceOf(EngineUnreachableError);
    expect(mapDockerError(socket, call, where).message).toBe(
      'cannot reach the Docker engine at ssh://nobody@127.0.0.1:1: ssh: ECONNREFUSED',
    );
    expect(mapDockerError(lost, call, where).message).toBe(
      'cannot reach the Docker engine at ssh://nobody@127.0.0.1:1: ssh: Connection lost before handshake',
    );
    expect(isRetryable(mapDockerError(login, call, where))).toBe(false);
    expect(isRetryable(mapDockerError(timeout, call, where))).toBe(true);
  });

  it('passes an abort through untouched', () => {
    const abort = Object.assign(new Error('The operation was aborted'), { name: 'AbortError' });
    expect(mapDockerError(abort, call, at)).toBe(abort);
  });
});

describe('foreignBody', () => {
  it('recognises the engine error document and an empty body as the engine', () => {
    expect(foreignBody({ message: 'No such container: x' })).toBeUndefined();
    expect(foreignBody(Buffer.alloc(0))).toBeUndefined();
    expect(foreignBody(null)).toBeUndefined();
  });

  it('shows a short printable excerpt of anything else', () => {
    expect(foreignBody(Buffer.from('Forbidden\n'))).toBe('Forbidden');
    expect(foreignBody({ error: 'nope' })).toBe('{"error":"nope"}');
    expect(foreignBody(Buffer.from('<p>\u001b[31mred</p>'))).toBe('[31mred');
    expect(foreignBody(Buffer.from('x'.repeat(500)))!.length).toBeLessThanOrEqual(100);
  });
});

describe('isRetryable', () => {
  it('follows the causes of a wrapped error', () => {
    const engine = new EngineError('no such container', 404, 'no such container', { retryable: false });
    expect(isRetryable(new Error('stop on web-1 failed', { cause: engine }))).toBe(false);
    expect(isRetryable(new Error('plain'))).toBe(true);
    expect(isRetryable('a string')).toBe(true);
  });
});
