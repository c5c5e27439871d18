// Writes oclif.manifest.json so that start-up reads one file instead of importing every command
// (the oclif CLI that usually does this needs Node 22; @oclif/core can do it on Node 20).
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Plugin } from '@oclif/core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const plugin = new Plugin({ root, type: 'core', ignoreManifest: true, errorOnManifestCreate: true, isRoot: true });
await plugin.load();
writeFileSync(join(root, 'oclif.manifest.json'), JSON.stringify(plugin.manifest, null, 2));
console.error(`oclif.manifest.json: ${Object.keys(plugin.manifest.commands).length} commands`);
