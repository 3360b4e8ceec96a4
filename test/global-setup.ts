import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { TestProject } from 'vitest/node';
import { ManualClock } from '../src/core/time/index.js';
import { migrate } from '../src/db/migrate.js';
import { wrapPglite } from '../src/db/pglite.js';

// Creating a PGlite database (initdb) costs ~1.6 s of CPU, and nearly every test file opens one or more.
// So the run migrates one database here, once, and each test database starts as a copy of its files
// (PGlite's loadDataDir), about 0.8 s instead of 2.4 s. Tests still call migrate(), which finds every
// migration applied; src/db tests that exercise migrating itself open an empty database.

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string;
  }
}

export default async function setup(project: TestProject) {
  if (process.env.DATABASE_URL) {
    project.provide('pgliteTemplate', '');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'recur-template-'));
  const file = join(dir, 'migrated.tar');
  const pg = new PGlite('memory://');
  await pg.waitReady;
  await migrate(wrapPglite(pg), new ManualClock('2026-01-01T00:00:00Z'));
  const dump = await pg.dumpDataDir('none');
  writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
  await pg.close();
  project.provide('pgliteTemplate', file);
  return () => rmSync(dir, { recursive: true, force: true });
}
