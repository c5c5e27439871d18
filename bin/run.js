#!/usr/bin/env node
import { execute } from '@oclif/core';

await execute({ dir: import.meta.url });
// Exit now: the exit code was set from the table in src/errors.ts, and idle sockets to the
// engine must not keep an on-call engineer waiting.
process.exit(process.exitCode ?? 0);
