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

describe('a billing pass with a failing job', () => {
  it('runs the other jobs, then throws the failure', async () => {
    const a = await t.customer({ card: 'pm_card_visa' });
    const sub = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: a, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' } });
    expect(sub.status, JSON.stringify(sub.body)).toBe(200);
    const b = await t.customer({ card: 'pm_card_visa' });
    await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: b, amount: 2500, currency: 'usd', description: 'Workbook' } });
    const draft = await t.call({ method: 'POST', url: '/v1/invoices', payload: { customer: b } });
    const open = await t.call({ method: 'POST', url: `/v1/invoices/${draft.body.id}/finalize`, payload: {} });
    expect(open.body.status).toBe('open');

    const db = t.testDb.db;
    await db.exec(`CREATE FUNCTION poison_renewal() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.subscription = '${sub.body.id}' AND NEW.billing_reason = 'subscription_cycle' THEN RAISE EXCEPTION 'poisoned renewal'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER poison_renewal BEFORE INSERT ON invoices FOR EACH ROW EXECUTE FUNCTION poison_renewal();`);
    try {
      const now = new Date('2026-02-15T13:00:00Z');
      await db.query(`UPDATE invoices SET next_payment_attempt = $2 WHERE id = $1`, [draft.body.id, now]);
      await expect(runBillingPass(db, t.deps, { clock: null }, now)).rejects.toThrow(/poisoned renewal/);
      const paid = await t.call({ method: 'GET', url: `/v1/invoices/${draft.body.id}` });
      expect([paid.body.status, paid.body.amount_paid]).toEqual(['paid', 2500]);
      const stuck = await t.call({ method: 'GET', url: `/v1/subscriptions/${sub.body.id}` });
      expect(stuck.body.current_period_end).toBe(Date.parse('2026-02-15T12:00:00Z') / 1000);
    } finally {
      await db.exec(`DROP TRIGGER poison_renewal ON invoices; DROP FUNCTION poison_renewal();`);
    }
  });
});
