#!/usr/bin/env -S node --import tsx --no-warnings=ExperimentalWarning
// As bin/run.js: a closed output stream must never stop a playbook.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});

const { execute } = await import('@oclif/core');
await execute({ development: true, dir: import.meta.url });
process.exit(process.exitCode ?? 0);
