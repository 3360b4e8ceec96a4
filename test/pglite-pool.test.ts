import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { readFileSync } from 'node:fs';
import { poolStats, pooledPglite } from './helpers/pglite-pool.js';
import { usingPostgres } from './helpers/db.js';

// The test databases a worker process reuses (test/helpers/pglite-pool.ts) start as a fresh copy of the
// migrated template would: nothing an earlier file wrote is left, and a file that changed the schema
// gets a fresh copy instead.

const count = async (db: Awaited<ReturnType<typeof pooledPglite>>, sql: string) => (await db.query<{ n: number }>(sql)).rows[0]!.n;

describe.skipIf(usingPostgres)('reused PGlite test databases', () => {
  const template = () => new Blob([readFileSync(inject('pgliteTemplate'))]);

  it('come back emptied to the template: rows gone, the template rows kept, the old handle refused', async () => {
    const first = await pooledPglite(template());
    const base = [await count(first, 'SELECT count(*)::int AS n FROM schema_migrations'), await count(first, 'SELECT count(*)::int AS n FROM credit_accounts')];
    expect(base[0]).toBeGreaterThan(30);
    expect(base[1]).toBeGreaterThan(0);
    await first.exec(`INSERT INTO customers (id, created, updated) VALUES ('cus_left_behind', '2026-01-01', '2026-01-01')`);
    await first.exec(`INSERT INTO events (id, type, created, object_id, data) VALUES ('evt_left', 'x', '2026-01-01', 'cus_left_behind', '{}')`);
    await first.exec(`SET statement_timeout = '1234ms'`);
    await first.close();

    const reusedBefore = poolStats.reused;
    const second = await pooledPglite(template());
    expect(poolStats.reused).toBe(reusedBefore + 1);
    expect([await count(second, 'SELECT count(*)::int AS n FROM customers'), await count(second, 'SELECT count(*)::int AS n FROM events')]).toEqual([0, 0]);
    expect([await count(second, 'SELECT count(*)::int AS n FROM schema_migrations'), await count(second, 'SELECT count(*)::int AS n FROM credit_accounts')]).toEqual(base);
    expect((await second.query<{ statement_timeout: string }>('SHOW statement_timeout')).rows[0]!.statement_timeout).toBe('0');
    await expect(first.query('SELECT 1')).rejects.toThrow('This test database was closed.');
    await second.close();
  });

  it.each([
    ['a table', 'CREATE TABLE scratch_probe (id int PRIMARY KEY)', `SELECT count(*)::int AS n FROM pg_class WHERE relname = 'scratch_probe'`],
    ['a column', 'ALTER TABLE customers ADD COLUMN scratch_probe int', `SELECT count(*)::int AS n FROM pg_attribute WHERE attname = 'scratch_probe'`],
  ])('is not reused after a file changed its schema (%s)', async (_what, change, probe) => {
    const db = await pooledPglite(template());
    await db.exec(change);
    const discardedBefore = poolStats.discarded;
    await db.close();
    expect(poolStats.discarded).toBe(discardedBefore + 1);
    const next = await pooledPglite(template());
    expect(await count(next, probe)).toBe(0);
    await next.close();
  });
});
