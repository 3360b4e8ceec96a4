import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp, unix } from '../helpers/billing.js';
import { postOk, type BillingApp } from './states-support.js';

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

const post = (url: string, payload: Record<string, unknown> = {}) => postOk(t, url, payload);

describe('immediate cancel while the renewal invoice is still a draft', () => {
  it('does not finalize and charge the renewal afterwards ("The customer won\'t be charged again")', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    // The renewal draft is created at 00:00 and finalized/charged an hour later.
    await t.advance(clock, '2026-03-01T00:30:00Z');
    const [, draft] = await t.invoices(sub.id);
    expect(draft!.status).toBe('draft');
    const del = await t.call({ method: 'DELETE', url: `/v1/subscriptions/${sub.id}` });
    expect(del.status).toBe(200);
    await t.advance(clock, '2026-03-01T03:00:00Z');
    const pis = (await t.call({ method: 'GET', url: `/v1/payment_intents?customer=${customer}&limit=100` })).body.data as { created: number; amount: number; status: string }[];
    const afterCancel = pis.filter((p) => p.created > unix('2026-03-01T00:30:00Z'));
    expect(afterCancel.map((p) => [p.amount, p.status])).toEqual([]);
  });
});

describe('cancel_at_period_end with pending prorations', () => {
  it('collects the pending prorations at the period end (Stripe: "left in place and collected at the end of the period")', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('group_monthly') }], trial_end: 'now' });
    await t.advance(clock, '2026-02-15T00:00:00Z');
    await post(`/v1/subscriptions/${sub.id}`, { items: [{ id: sub.items.data[0].id, price: await t.priceId('elite_monthly') }], proration_behavior: 'create_prorations' });
    await post(`/v1/subscriptions/${sub.id}`, { cancel_at_period_end: true });
    await t.advance(clock, '2026-03-01T03:00:00Z');
    expect((await t.sub(sub.id)).status).toBe('canceled');
    const { rows } = await t.testDb.db.query<{ n: string }>(`SELECT count(*) AS n FROM invoice_items WHERE subscription = $1 AND invoice IS NULL AND deleted_at IS NULL`, [sub.id]);
    expect(Number(rows[0]!.n)).toBe(0);
    // Feb 15 is half of February: −75,000 for Group, +250,000 for Elite, on one final invoice at Mar 1, paid.
    const final = (await t.invoices(sub.id)).at(-1)!;
    expect([final.billing_reason, final.status, final.total, final.amount_paid, final.period_start]).toEqual(['subscription_update', 'paid', 175_000, 175_000, unix('2026-03-01T00:00:00Z')]);
    expect(final.lines.data.map((l) => l.amount)).toEqual([-75_000, 250_000]);
  });
});
