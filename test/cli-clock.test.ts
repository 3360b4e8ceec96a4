import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { testConfig } from '../src/config.js';
import { ManualClock } from '../src/core/time/index.js';
import { openPglite } from '../src/db/pglite.js';
import { createApiKey } from '../src/modules/api-keys/service.js';
import { seedCatalog } from '../src/modules/catalog/seed.js';
import { createTestClock } from '../src/modules/test-clocks/service.js';
import { cliFolder } from './helpers/cli.js';
import { openMigratedDataDir } from './helpers/db.js';

// `recur clock advance` as a user runs it, on the embedded database in a fresh data folder.

const { dataDir, recur } = cliFolder();

describe('recur clock advance', () => {
  beforeAll(async () => (await openMigratedDataDir(dataDir)).close());

  it('advances a test clock past the two-year bound of one API advance, by stepping', async () => {
    // The folder is free between commands: make a clock through the service, then let the CLI advance it.
    // With a customer on Community (9,700 a month) on it, so the CLI's advance runs real billing.
    let db = await openPglite(dataDir);
    await seedCatalog(db, new Date('2026-01-01T00:00:00Z'));
    const clock = await createTestClock(db, new Date('2026-01-01T00:00:00Z'), { frozen_time: Date.parse('2026-01-01T00:00:00Z') / 1000, name: 'cli' });
    const { app } = await buildApp({ db, clock: new ManualClock('2026-01-01T00:00:00Z'), config: testConfig({ logLevel: 'warn' }) });
    const key = (await createApiKey(db, { name: 'cli-test', scope: 'admin' }, new Date('2026-01-01T00:00:00Z'))).secret;
    const call = async (url: string, payload: Record<string, unknown>) => {
      const res = await app.inject({ method: 'POST', url, payload, headers: { authorization: `Bearer ${key}` } });
      expect(res.statusCode, res.body).toBe(200);
      return JSON.parse(res.body) as { id: string };
    };
    const customer = await call('/v1/customers', { email: 'cli@example.com', test_clock: clock.id });
    const pm = await call('/v1/payment_methods/pm_card_visa/attach', { customer: customer.id });
    await call(`/v1/customers/${customer.id}`, { invoice_settings: { default_payment_method: pm.id } });
    const price = (await db.query<{ id: string }>(`SELECT id FROM prices WHERE lookup_key = 'community_monthly'`)).rows[0]!.id;
    const sub = await call('/v1/subscriptions', { customer: customer.id, items: [{ price }], trial_end: 'now' });
    await app.close();
    await db.close();

    // Two and a half years: one API advance covers two months here (two intervals of the monthly subscription).
    const r = recur('clock', 'advance', clock.id, '--to', '2028-07-01T00:00:00Z');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`Test clock ${clock.id} is at 2028-07-01T00:00:00.000Z (ready).\n`);
    // Jan 1 2026 (the first invoice) and 30 renewals, Feb 1 2026 … Jul 1 2028; the last one, created at the
    // clock's final instant, is still a draft (finalized an hour later). 30 × 9,700 = 291,000 paid.
    db = await openPglite(dataDir);
    const { rows } = await db.query<{ status: string; n: number; paid: number }>(
      `SELECT status, count(*)::int AS n, sum(amount_paid)::bigint AS paid FROM invoices WHERE subscription = $1 GROUP BY status ORDER BY status`,
      [sub.id],
    );
    await db.close();
    expect(rows).toEqual([
      { status: 'draft', n: 1, paid: 0 },
      { status: 'paid', n: 30, paid: 291_000 },
    ]);
    const far = recur('clock', 'advance', clock.id, '--to', '9999-01-01T00:00:00Z');
    expect(far.code).toBe(2);
    expect(far.stderr).toContain('--to must be no later than 9900-01-01');
  }, 120_000);
});
