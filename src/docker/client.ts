import type Dockerode from 'dockerode';
import type { z } from 'zod';
import { EngineUnreachableError } from '../errors.js';
import { describeChoice, type Endpoint } from './connect.js';
import { mapDockerError, type CallLabel } from './errors.js';
import { checkAnswer, type AnswerShape, type CheckedAnswer } from './shape.js';

/**
 * dockerode is loaded on first use: it costs over 100 ms to import, most of it for features
 * (BuildKit sessions over gRPC, ssh) that a containment run never touches.
 */
export async function createDockerode(endpoint: Endpoint): Promise<Dockerode> {
  const { loadDockerode } = await import('./lean-load.js');
  const Docker = loadDockerode();
  if (endpoint.options.protocol === 'ssh') quietSshUrlWarning();
  return new Docker({ ...unset, ...endpoint.options } as Dockerode.DockerOptions);
}

/**
 * docker-modem fills each connection option left out from DOCKER_HOST, DOCKER_CERT_PATH and
 * DOCKER_TLS_VERIFY itself (modem.js defaultOpts), after resolveEndpoint chose the engine: with
 * DOCKER_HOST=tcp://a set, `--host unix:///var/run/docker.sock` went to a, while every message
 * named the socket. Every option is therefore given, undefined when the endpoint has no use for it.
 */
const unset = {
  socketPath: undefined,
  host: undefined,
  port: undefined,
  protocol: undefined,
  username: undefined,
  ca: undefined,
  cert: undefined,
  key: undefined,
  agent: undefined,
  sshOptions: undefined,
};

let quieted = false;

/**
 * docker-modem builds each ssh request's URL as "ssh:HOST:PORT/..." and hands it to Node's
 * url.resolve, which warns (DEP0170) on stderr that it is invalid. The URL is never used, the ssh
 * agent makes the connection; the warning would only bury the one line that matters. Only that
 * warning is dropped.
 */
function quietSshUrlWarning(): void {
  if (quieted) return;
  quieted = true;
  const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === 'string' ? warning : warning.message;
    if (/^The URL ssh:/.test(text)) return;
    emit(warning, ...rest);
  }) as typeof process.emitWarning;
}

/** One Engine API call: what it does, the request it sends, and the signal that aborts it. */
export interface Ask extends CallLabel {
  signal?: AbortSignal;
  /**
   * For calls the engine answers in milliseconds (version, lists): past this the engine is
   * wedged or the address is a black hole, and the run must say so rather than hang.
   */
  deadlineMs?: number;
}

/** Every Engine API call goes through here so that failures come back as our errors. */
export class Call {
  /** The engine as messages name it: through a context, the context too, so the operator sees which setting chose it. */
  private readonly shown: string;
  constructor(readonly endpoint: Endpoint) {
    this.shown = endpoint.context === undefined ? endpoint.label : `${endpoint.label} (${describeChoice(endpoint)})`;
  }

  /**
   * Run a call with its signal. An already-aborted signal rejects before anything is sent; an abort
   * in flight rejects with the signal's reason (the step's timeout, Ctrl-C), not docker-modem's AbortError.
   */
  async run<T>(ask: Ask, fn: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
    ask.signal?.throwIfAborted();
    const deadline = ask.deadlineMs ? AbortSignal.timeout(ask.deadlineMs) : undefined;
    const signal = deadline ? (ask.signal ? AbortSignal.any([ask.signal, deadline]) : deadline) : ask.signal;
    try {
      return await fn(signal);
    } catch (error) {
      if (ask.signal?.aborted) throw ask.signal.reason;
      // ssh2 only says "Host denied (verification failed)"; the check itself knows why, and the fix.
      const refusal = this.endpoint.hostKey?.refusal;
      if (refusal)
        throw new EngineUnreachableError(`cannot reach the Docker engine at ${this.shown}: ${refusal}`, {
          cause: error,
          retryable: false,
        });
      if (deadline?.aborted) {
        throw new EngineUnreachableError(
          `the Docker engine at ${this.shown} did not answer ${ask.request ?? ask.what} within ${ask.deadlineMs! / 1000}s`,
          { cause: error },
        );
      }
      throw mapDockerError(error, ask, this.shown);
    }
  }

  /** A call answered with JSON: the answer is checked against `shape` (see shape.ts) before it is returned. */
  async json<S extends z.ZodType>(
    ask: Ask,
    shape: AnswerShape<S>,
    fn: (signal: AbortSignal | undefined) => Promise<unknown>,
  ): Promise<CheckedAnswer<z.output<S>>> {
    const body = await this.run(ask, fn);
    return checkAnswer(shape, body, ask.request ?? ask.what, this.shown);
  }

  /**
   * A request through docker-modem directly, for the dockerode methods that do not pass the
   * abort signal on (image inspect and history, network inspect).
   */
  dial(
    docker: Dockerode,
    request: { method: string; path: string; statusCodes: Record<number, true | string> },
    signal?: AbortSignal,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      docker.modem.dial({ ...request, abortSignal: signal, options: {} } as never, (error: unknown, body: unknown) =>
        error ? reject(error) : resolve(body),
      );
    });
  }
}

/** A container, image or network as messages name it: a 64-digit id shortened as the docker CLI prints it. */
export function shortRef(idOrName: string): string {
  const bare = idOrName.replace(/^sha256:/, '');
  return /^[0-9a-f]{64}$/.test(bare) ? bare.slice(0, 12) : idOrName;
}

/**
 * dockerode's options object carrying the signal, which docker-modem hands to the request. Left out
 * when there is none: the options of a GET become its query string, and `abortSignal=` has no place there.
 */
export function signalOption(signal: AbortSignal | undefined): { abortSignal?: AbortSignal } {
  return signal ? { abortSignal: signal } : {};
}
