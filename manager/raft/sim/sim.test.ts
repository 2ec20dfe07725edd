import { describe, expect, it } from 'vitest';
import { simFailed, Simulation } from './simulation.js';

const SEEDS = 400;

describe('raft simulation', () => {
  it(`keeps safety and linearizability over ${SEEDS} seeds`, () => {
    const failures: string[] = [];
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = new Simulation({ seed, steps: 600, calmSteps: 2000, clients: 4 }).run();
      if (simFailed(r)) failures.push(`seed ${seed}: ${JSON.stringify(r)}`);
    }
    expect(failures).toEqual([]);
  }, 120_000);
});
