import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each file opens its own database (a PGlite instance or a PostgreSQL schema), so files are isolated.
    fileParallelism: true,
    // One more worker than this 2-core machine has cores: many files wait on child processes (the CLI,
    // workers), PostgreSQL or timers. Measured on the full PGlite run: 2 workers 276–302 s, 3 workers
    // 185 s, 4 workers 243 s (contention).
    maxWorkers: 3,
  },
});
