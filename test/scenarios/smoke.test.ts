import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp, iso } from '../helpers/billing.js';

let t: Awaited<ReturnType<typeof createBillingApp>>;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

describe('smoke: community monthly with a card, 3 months', () => {
  it('renews monthly and charges', async () => {
    const clock = await t.clockAt('2026-01-31T10:00:00Z');
    const cus = await t.customer({ clock, card: 'pm_card_visa' });
    const price = await t.priceId('community_monthly');
    const res = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: cus, items: [{ price }], trial_end: 'now' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.status).toBe('active');
    await t.advance(clock, '2026-04-30T12:00:00Z');
    const invs = await t.invoices(res.body.id);
    expect(invs.map((i) => [i.status, i.amount_paid, iso(i.period_start)])).toEqual([
      ['paid', 9700, '2026-01-31T10:00:00Z'],
      ['paid', 9700, '2026-02-28T10:00:00Z'],
      ['paid', 9700, '2026-03-31T10:00:00Z'],
      ['paid', 9700, '2026-04-30T10:00:00Z'],
    ]);
  });
});
