import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../../../test/helpers/billing.js';
import { runBillingPass } from './jobs.js';

// One billing job whose batch keeps failing must not stop the others: here every renewal of one
// subscription fails in the database (a trigger stands in for any persistent fault), and the same pass
// still charges another customer's invoice that is due, then reports the failure.

let t: Awaited<ReturnType<typeof createBillingApp>>;
beforeAll(async () => {
  t = await createBillingApp('2026-01-15T12:00:00Z');
});
afterAll(() => t.close());

/** Every renewal invoice of the subscription fails in the database. */
const poisonRenewals = (sub: string) =>
  t.testDb.db.exec(`CREATE FUNCTION poison_renewal() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.subscription = '${sub}' AND NEW.billing_reason = 'subscription_cycle' THEN RAISE EXCEPTION 'poisoned renewal'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER poison_renewal BEFORE INSERT ON invoices FOR EACH ROW EXECUTE FUNCTION poison_renewal();`);
const curePoison = () => t.testDb.db.exec(`DROP TRIGGER poison_renewal ON invoices; DROP FUNCTION poison_renewal();`);

describe('a billing pass with a failing job', () => {
  it('runs the other jobs, then throws the failure', async () => {
    const a = await t.customer({ card: 'pm_card_visa' });
    const sub = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: a, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' } });
    expect(sub.status, JSON.stringify(sub.body)).toBe(200);
    const b = await t.customer({ card: 'pm_card_visa' });
    await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: b, amount: 2500, currency: 'usd', description: 'Workbook' } });
    const draft = await t.call({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: b } });
    const open = await t.call({ method: 'POST', url: `/v1/invoices/${draft.body.id}/finalize`, payload: {} });
    expect(open.body.status).toBe('open');

    const db = t.testDb.db;
    await poisonRenewals(sub.body.id);
    try {
      const now = new Date('2026-02-15T13:00:00Z');
      await db.query(`UPDATE invoices SET next_payment_attempt = $2 WHERE id = $1`, [draft.body.id, now]);
      await expect(runBillingPass(db, t.deps, { clock: null }, now)).rejects.toThrow(/poisoned renewal/);
      const paid = await t.call({ method: 'GET', url: `/v1/invoices/${draft.body.id}` });
      expect([paid.body.status, paid.body.amount_paid]).toEqual(['paid', 2500]);
      const stuck = await t.call({ method: 'GET', url: `/v1/subscriptions/${sub.body.id}` });
      expect(stuck.body.current_period_end).toBe(Date.parse('2026-02-15T12:00:00Z') / 1000);
    } finally {
      await curePoison();
    }
  });

  it('holds a renewal that fails alone, renews the rest of its batch, and retries it after a backoff', async () => {
    const db = t.testDb.db;
    const price = await t.priceId('community_monthly');
    t.clock.set('2026-01-20T12:00:00Z');
    const poisoned = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: await t.customer({ card: 'pm_card_visa' }), items: [{ price }], trial_end: 'now' } });
    t.clock.set('2026-01-20T12:00:01Z');
    // Claimed after the poisoned one (a later period end), in the same batch.
    const healthy = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: await t.customer({ card: 'pm_card_visa' }), items: [{ price }], trial_end: 'now' } });
    expect([poisoned.status, healthy.status]).toEqual([200, 200]);
    await poisonRenewals(poisoned.body.id);
    const holds = async () =>
      (await db.query<{ object_id: string; failures: number; held_until: Date; last_error: string }>(`SELECT object_id, failures, held_until, last_error FROM work_holds WHERE job = 'billing.period_end' ORDER BY object_id`)).rows.map((h) => [h.object_id, h.failures, new Date(h.held_until).toISOString(), h.last_error]);
    const periodEnd = async (id: string) => (await t.sub(id)).current_period_end;
    try {
      await expect(runBillingPass(db, t.deps, { clock: null }, new Date('2026-02-20T13:00:00Z'))).rejects.toThrow(/poisoned renewal/);
      expect(await periodEnd(healthy.body.id)).toBe(Date.parse('2026-03-20T12:00:01Z') / 1000);
      expect(await periodEnd(poisoned.body.id)).toBe(Date.parse('2026-02-20T12:00:00Z') / 1000);
      expect(await holds()).toEqual([[poisoned.body.id, 1, '2026-02-20T13:01:00.000Z', 'poisoned renewal']]);
      t.clock.set('2026-02-20T13:00:10Z');
      const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
      expect(metrics.body).toContain('recur_work_holds{job="billing.period_end"} 1');

      // While held it is not claimed: the pass does not fail on it again.
      await expect(runBillingPass(db, t.deps, { clock: null }, new Date('2026-02-20T13:00:30Z'))).resolves.toBeGreaterThanOrEqual(0);
      expect(await periodEnd(poisoned.body.id)).toBe(Date.parse('2026-02-20T12:00:00Z') / 1000);
      // The hold over, it is tried again, fails again and is held twice as long.
      await expect(runBillingPass(db, t.deps, { clock: null }, new Date('2026-02-20T13:02:00Z'))).rejects.toThrow(/poisoned renewal/);
      expect(await holds()).toEqual([[poisoned.body.id, 2, '2026-02-20T13:04:00.000Z', 'poisoned renewal']]);
    } finally {
      await curePoison();
    }
    // Fixed: once the hold is over it renews (one invoice for the period) and loses its hold.
    await runBillingPass(db, t.deps, { clock: null }, new Date('2026-02-20T13:04:00Z'));
    expect(await periodEnd(poisoned.body.id)).toBe(Date.parse('2026-03-20T12:00:00Z') / 1000);
    expect(await holds()).toEqual([]);
    expect((await t.app.inject({ method: 'GET', url: '/metrics' })).body).not.toContain('recur_work_holds{');
    const cycles = (await t.invoices(poisoned.body.id)).filter((i) => i.billing_reason === 'subscription_cycle');
    expect(cycles.map((i) => i.period_start)).toEqual([Date.parse('2026-02-20T12:00:00Z') / 1000]);
    expect((await t.invoices(healthy.body.id)).filter((i) => i.billing_reason === 'subscription_cycle')).toHaveLength(1);
  });
});
