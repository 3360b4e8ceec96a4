import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../../../test/helpers/billing.js';
import { runCreditPass } from './jobs.js';

// A plan grant that fails alone (a trigger stands in for any fault only that row reaches) is held and
// the other subscription of the same batch gets its credits; once fixed and the hold over, it is granted.

let t: Awaited<ReturnType<typeof createBillingApp>>;
beforeAll(async () => {
  t = await createBillingApp('2026-01-15T12:00:00Z');
});
afterAll(() => t.close());

describe('the credit pass with a failing grant', () => {
  it('holds it, grants the rest of the batch, and grants it once the hold is over', async () => {
    const db = t.testDb.db;
    const price = await t.priceId('platform_starter_monthly');
    const subscribe = async () => (await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: await t.customer({ card: 'pm_card_visa' }), items: [{ price }], trial_end: 'now' } })).body;
    const poisoned = await subscribe();
    t.clock.set('2026-01-15T12:00:01Z');
    const healthy = await subscribe();
    const granted = async (sub: string) => (await db.query<{ amount: string }>(`SELECT amount FROM credit_grants WHERE subscription = $1 AND source = 'plan'`, [sub])).rows.map((r) => Number(r.amount));
    const holds = async () => (await db.query<{ object_id: string; failures: number; last_error: string }>(`SELECT object_id, failures, last_error FROM work_holds WHERE job = 'credits.plan_grant'`)).rows.map((h) => [h.object_id, h.failures, h.last_error]);
    await db.exec(`CREATE FUNCTION poison_grant() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.subscription = '${poisoned.id}' THEN RAISE EXCEPTION 'poisoned grant'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER poison_grant BEFORE INSERT ON credit_grants FOR EACH ROW EXECUTE FUNCTION poison_grant();`);
    try {
      await expect(runCreditPass(db, t.deps, { clock: null }, new Date('2026-01-15T12:01:00Z'))).rejects.toThrow(/poisoned grant/);
      expect([await granted(poisoned.id), await granted(healthy.id)]).toEqual([[], [1000]]);
      expect(await holds()).toEqual([[poisoned.id, 1, 'poisoned grant']]);
      // Held: skipped, the pass succeeds.
      await expect(runCreditPass(db, t.deps, { clock: null }, new Date('2026-01-15T12:01:30Z'))).resolves.toBe(0);
    } finally {
      await db.exec(`DROP TRIGGER poison_grant ON credit_grants; DROP FUNCTION poison_grant();`);
    }
    await runCreditPass(db, t.deps, { clock: null }, new Date('2026-01-15T12:02:00Z'));
    expect([await granted(poisoned.id), await granted(healthy.id)]).toEqual([[1000], [1000]]);
    expect(await holds()).toEqual([]);
  });
});
