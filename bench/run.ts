import { benchLabUp } from './lab-up.js';
import { benchRaft } from './raft/index.js';
import { benchRaftFailover } from './raft/failover.js';
import { benchBootstrap } from './bootstrap.js';
import { benchEngine } from './engine/index.js';
import { benchLocalApi } from './local-api.js';
import { benchScheduler } from './scheduler.js';
import { benchServices } from './services/index.js';

/** `npm run bench [-- NAME…]`: runs the named benchmarks (all by default), one after another. */
const BENCHMARKS: Record<string, () => Promise<void>> = {
  'lab-up': benchLabUp,
  raft: benchRaft,
  'raft-failover': benchRaftFailover,
  bootstrap: benchBootstrap,
  engine: benchEngine,
  'local-api': benchLocalApi,
  scheduler: benchScheduler,
  services: benchServices,
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !(w in BENCHMARKS));
if (unknown.length > 0) {
  console.error(`Error: unknown benchmark ${unknown.join(', ')}. Choose from: ${Object.keys(BENCHMARKS).join(', ')}.`);
  process.exit(2);
}
for (const name of wanted.length > 0 ? wanted : Object.keys(BENCHMARKS)) {
  console.log(`== ${name}`);
  await BENCHMARKS[name]!();
}
