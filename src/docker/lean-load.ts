import type Dockerode from 'dockerode';
import Module, { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/**
 * dockerode, without paying at start-up for what a containment run never uses. Its main module
 * requires its BuildKit session support (gRPC and protobuf, for `buildImage` with a session) and
 * docker-modem requires the ssh2 transport, both at load time: together about half of what loading
 * dockerode costs (measured: 0.55 s of CPU down to 0.27 s on these machines). Each is replaced in
 * the require cache by a stand-in that loads the real module on its first call, so an ssh://
 * endpoint still works, only paying for ssh2 when it is used.
 */
export function loadDockerode(): typeof Dockerode {
  const main = require.resolve('dockerode');
  const modem = createRequire(main).resolve('docker-modem');
  deferModule(join(dirname(main), 'session.js'));
  deferModule(join(dirname(modem), 'ssh.js'));
  return require(main) as typeof Dockerode;
}

/** Puts a function in the require cache for `file` (a module that exports one function) that loads it when called. */
function deferModule(file: string): void {
  if (require.cache[file]) return;
  let real: ((...args: unknown[]) => unknown) | undefined;
  const load = () => {
    delete require.cache[file];
    return require(file) as (...args: unknown[]) => unknown;
  };
  const stand = new Module(file) as NodeJS.Module;
  stand.filename = file;
  stand.loaded = true;
  stand.exports = function (this: unknown, ...args: unknown[]) {
    real ??= load();
    return real.apply(this, args);
  };
  require.cache[file] = stand;
}
