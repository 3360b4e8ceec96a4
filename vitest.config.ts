import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each file gets its own database (a PGlite instance holding just the migrated template — a reused one
    // is emptied back to it, test/helpers/pglite-pool.ts — or a PostgreSQL schema), so files are isolated
    // by their data, and share no module state that one could leave behind (no vi.mock, no env changes;
    // spies are restored). So a worker process runs file after file without reloading the modules: the
    // module loading alone was ~100 s of the run's CPU with a fresh process per file (isolate: true).
    fileParallelism: true,
    isolate: false,
    // One more worker than this 2-core machine has cores: many files wait on child processes (the CLI,
    // workers), PostgreSQL or timers. Measured on the full PGlite run: 2 workers 276–302 s, 3 workers
    // 185 s, 4 workers 243 s (contention), with a fresh process per file; 119–141 s since (isolate: false
    // and the migrated template).
    maxWorkers: 3,
  },
});
