// `npm run bench`: every benchmark, each comparing firebreak with the docker CLI in the same run.
import { prepare, removeBenchObjects } from './common.js';
import { benchFleet } from './fleet.js';
import { benchForensics } from './forensics.js';
import { benchIsolate } from './isolate.js';
import { benchRecover } from './recover.js';
import { benchStartup } from './startup.js';

const only = process.argv[2];
const benches: Record<string, () => Promise<void>> = {
  startup: benchStartup,
  isolate: benchIsolate,
  forensics: benchForensics,
  recover: benchRecover,
  fleet: benchFleet,
};

await prepare();
try {
  for (const [name, bench] of Object.entries(benches)) if (!only || only === name) await bench();
} finally {
  await removeBenchObjects();
}
