import { defineConfig } from 'vitest/config';

// Two projects: unit tests run in parallel; cluster tests boot real daemons in network
// namespaces and run one file at a time, because the machines have two cores.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{lib,ca,daemon,cli,lab,manager,worker,engine,bench}/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'cluster',
          include: ['cluster-tests/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
