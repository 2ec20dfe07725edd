/** Runs the Raft benchmark alone: `node dist/bench/raft/main.js` (after `npx tsc -p tsconfig.json`). */
import { benchRaft } from './index.js';

await benchRaft();
