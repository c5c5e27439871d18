#!/usr/bin/env node
// A closed stdout or stderr (`firebreak ... | head -1`) must never stop containment: Node turns a
// write to a closed pipe into an 'error' event, which would crash the process mid-playbook. The
// output is lost; the playbook, the bundle and the exit code are not.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});

const { execute } = await import('@oclif/core');
await execute({ dir: import.meta.url });
// Exit now: the exit code was set from the table in src/errors.ts, and idle sockets to the
// engine must not keep an on-call engineer waiting.
process.exit(process.exitCode ?? 0);
