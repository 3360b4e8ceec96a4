import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each file opens its own database (a PGlite instance or a PostgreSQL schema), so files are isolated.
    fileParallelism: true,
    // Vitest's default leaves a core idle on a 2-core machine; database tests mostly wait on PGlite/PostgreSQL.
    maxWorkers: 2,
  },
});
