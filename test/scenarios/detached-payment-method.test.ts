import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp, unix } from '../helpers/billing.js';
import { runBillingPass } from '../../src/modules/subscriptions/jobs.js';

// An invoice whose own default_payment_method was detached afterwards, with no other usable method:
// the automatic attempt must be recorded as failed (payment_method_missing / skip detached), not throw.

let t: Awaited<ReturnType<typeof createBillingApp>>;
beforeAll(async () => {
  t = await createBillingApp('2026-01-15T12:00:00Z');
});
afterAll(() => t.close());

async function invoiceWithDetachedDefault(clock?: string, card?: string) {
  const cus = await t.customer({ ...(clock ? { clock } : {}), ...(card ? { card } : {}) });
  const pm = await t.call({ method: 'POST', url: '/v1/payment_methods/pm_card_visa/attach', payload: { customer: cus } });
  expect(pm.status).toBe(200);
  await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, amount: 2500, currency: 'usd', description: 'Workbook' } });
  const draft = await t.call({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: cus, default_payment_method: pm.body.id, auto_advance: true } });
  expect(draft.status, JSON.stringify(draft.body)).toBe(200);
  const det = await t.call({ method: 'POST', url: `/v1/payment_methods/${pm.body.id}/detach`, payload: {} });
  expect(det.status).toBe(200);
  return draft.body.id as string;
}

describe('automatic collection with a detached invoice default payment method', () => {
  it('real-time worker: records a failed attempt instead of failing (and holding) the row', async () => {
    const inv = await invoiceWithDetachedDefault();
    // finalize_at is one hour after creation; the payment is due at finalization.
    await runBillingPass(t.testDb.db, t.deps, { clock: null }, new Date('2026-01-15T13:00:01Z')).catch(() => undefined);
    const after = await t.call({ method: 'GET', url: `/v1/invoices/${inv}` });
    expect(after.body.status).toBe('open');
    // Expected: the attempt is recorded as failed (attempt_count 1, no retry scheduled).
    const holds = await t.testDb.db.query(`SELECT job, last_error FROM work_holds WHERE object_id = $1`, [inv]);
    expect(holds.rows).toEqual([]);
    expect(after.body.attempt_count).toBe(1);
  });

  it('test clock: the advance succeeds and the clock stays usable', async () => {
    const clock = await t.clockAt('2026-01-15T12:00:00Z');
    await invoiceWithDetachedDefault(clock);
    const res = await t.call({ method: 'POST', url: `/v1/test_helpers/test_clocks/${clock}/advance`, payload: { frozen_time: unix('2026-01-16T12:00:00Z') } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const got = await t.call({ method: 'GET', url: `/v1/test_helpers/test_clocks/${clock}` });
    expect(got.body.status).toBe('ready');
  });

  it('POST /v1/invoices/{id}/pay skips the detached invoice default and charges the customer default (ADR 0006 order)', async () => {
    const inv = await invoiceWithDetachedDefault(undefined, 'pm_card_visa');
    const fin = await t.call({ method: 'POST', url: `/v1/invoices/${inv}/finalize`, payload: { auto_advance: false } });
    expect(fin.body.status).toBe('open');
    const res = await t.call({ method: 'POST', url: `/v1/invoices/${inv}/pay`, payload: {} });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.status).toBe('paid');
  });
});
