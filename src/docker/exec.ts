import type Dockerode from 'dockerode';
import { Writable, type Readable } from 'node:stream';
import { z } from 'zod';
import { shortRef, signalOption, type Call } from './client.js';
import { demultiplex } from './demux.js';
import { answer } from './shape.js';

/** What a command run inside a container said, and how it ended. */
export interface ExecResult {
  exitCode: number;
  /** stdout and stderr together, cut to the last `keep` bytes: a probe's answer, not a log. */
  output: string;
}

const inspectAnswer = answer(
  'an exec inspect document',
  z.looseObject({ Running: z.boolean(), ExitCode: z.number().nullable() }),
);

/** How much of a probe's output is kept, as the engine keeps 4 KiB of a healthcheck's. */
const keep = 4096;

/** Commands run inside a container through the exec API (no TTY, no stdin). */
export class ExecClient {
  constructor(
    private readonly docker: Dockerode,
    private readonly call: Call,
  ) {}

  /**
   * Runs `argv` and waits for it to end. The signal bounds the wait; the engine has no call to
   * kill an exec'd process, so one that outlives an abort runs on in the container until it ends.
   */
  async run(id: string, argv: string[], signal?: AbortSignal): Promise<ExecResult> {
    const what = `exec in ${shortRef(id)}`;
    const exec = await this.call.run({ what, request: `POST /containers/${shortRef(id)}/exec`, signal }, (s) =>
      this.docker.getContainer(id).exec({
        Cmd: argv,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
        ...signalOption(s),
      } as Dockerode.ExecCreateOptions),
    );
    const request = `POST /exec/${shortRef(exec.id)}/start`;
    const output = await this.call.run({ what, request, signal }, async (s) => {
      const stream = (await exec.start({ hijack: true, stdin: false, ...signalOption(s) } as object)) as Readable;
      // A hijacked connection ignores the signal once it is open: the stream is cut here instead.
      const onAbort = () => stream.destroy(new Error(`${request} aborted`));
      s?.addEventListener('abort', onAbort, { once: true });
      try {
        const out = new Tail();
        const err = new Tail();
        await demultiplex(stream, out, err);
        return (out.text() + err.text()).slice(-keep);
      } finally {
        s?.removeEventListener('abort', onAbort);
      }
    });
    const state = await this.call.json(
      { what, request: `GET /exec/${shortRef(exec.id)}/json`, signal },
      inspectAnswer,
      (s) => exec.inspect(signalOption(s) as object),
    );
    return { exitCode: state.value.ExitCode ?? -1, output };
  }
}

/** Keeps the last `keep` bytes written to it. */
class Tail extends Writable {
  #chunks: Buffer[] = [];
  #size = 0;
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    while (this.#size - this.#chunks[0]!.length >= keep) this.#size -= this.#chunks.shift()!.length;
    done();
  }
  text(): string {
    return Buffer.concat(this.#chunks).subarray(-keep).toString('utf8');
  }
}
