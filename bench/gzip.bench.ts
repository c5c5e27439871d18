// Throughput of the parallel gzip stream against single-threaded zlib and the gzip CLI.
//   node --import tsx bench/gzip.bench.ts [MiB=512] [random|text|binary ...]
// GZIP_CHUNK (bytes) and GZIP_WORKERS override the stream's defaults; GZIP_ONLY=parallel skips
// the baselines.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable, Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { createGzipStream } from '../src/evidence/gzip.js';

const MiB = 1 << 20;
const total = Number(process.argv[2] ?? 512) * MiB;
const kinds = process.argv.slice(3).length > 0 ? process.argv.slice(3) : ['random', 'text', 'binary'];
const WRITE = 64 * 1024; // about what a docker export stream delivers per read

function sample(kind: string): Buffer {
  const size = 64 * MiB;
  if (kind === 'random') return randomBytes(size);
  if (kind === 'text') {
    const lines = Array.from(
      { length: 4096 },
      (_, i) =>
        `2025-11-30T23:59:${String(i % 60).padStart(2, '0')}Z INFO pid=${1000 + ((i * 7919) % 50000)} path=/var/lib/app/${i % 97}/data.json status=ok\n`,
    ).join('');
    return Buffer.alloc(size, lines);
  }
  // Executable code: a stand-in for the binaries and libraries of a container filesystem.
  const bin = readFileSync(process.execPath);
  return Buffer.alloc(size, bin);
}

function source(data: Buffer): Readable {
  let sent = 0;
  return new Readable({
    highWaterMark: 4 * WRITE,
    read() {
      if (sent >= total) return void this.push(null);
      const at = sent % data.length;
      const n = Math.min(WRITE, total - sent, data.length - at);
      sent += n;
      this.push(data.subarray(at, at + n));
    },
  });
}

function counter(): Writable & { bytes: number } {
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      sink.bytes += chunk.length;
      cb();
    },
  }) as Writable & { bytes: number };
  sink.bytes = 0;
  return sink;
}

async function viaStream(data: Buffer, make: () => Transform): Promise<number> {
  const sink = counter();
  await pipeline(source(data), make(), sink);
  return sink.bytes;
}

async function viaCli(data: Buffer): Promise<number> {
  const child = spawn('gzip', ['-1'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const sink = counter();
  const exited = new Promise<void>((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`gzip exited ${code}`)))),
  );
  await Promise.all([pipeline(source(data), child.stdin), pipeline(child.stdout, sink), exited]);
  return sink.bytes;
}

async function measure(name: string, kind: string, fn: () => Promise<number>): Promise<void> {
  const start = process.hrtime.bigint();
  const out = await fn();
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(
    `${kind.padEnd(7)} ${name.padEnd(34)} ${(total / 1e6 / s).toFixed(0).padStart(6)} MB/s  ratio ${(out / total).toFixed(3)}  ${s.toFixed(2)} s`,
  );
}

const options = {
  ...(process.env.GZIP_CHUNK ? { chunkSize: Number(process.env.GZIP_CHUNK) } : {}),
  ...(process.env.GZIP_WORKERS ? { workers: Number(process.env.GZIP_WORKERS) } : {}),
};
console.log(`${total / MiB} MiB per run, writes of ${WRITE / 1024} KiB, options ${JSON.stringify(options)}`);
for (const kind of kinds) {
  const data = sample(kind);
  await measure(`createGzipStream(${JSON.stringify(options)})`, kind, () =>
    viaStream(data, () => createGzipStream(options)),
  );
  if (process.env.GZIP_ONLY === 'parallel') continue;
  await measure('createGzipStream({workers: 0})', kind, () => viaStream(data, () => createGzipStream({ workers: 0 })));
  await measure('zlib.createGzip({level: 1})', kind, () => viaStream(data, () => createGzip({ level: 1 })));
  await measure('gzip -1 (CLI)', kind, () => viaCli(data));
}
