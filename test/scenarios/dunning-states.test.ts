import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDunningApp, type DunningApp } from '../scenarios/dunning-support.js';

// With the dunning plans seeded (as the runtime does): what happens after the retries.

let t: DunningApp;
beforeAll(async () => {
  t = await createDunningApp('2026-01-15T12:00:00Z');
});
afterAll(() => t.close());

const unix = (iso: string) => Math.floor(Date.parse(iso) / 1000);

async function activeThenFailingCard(start: string, price: string) {
  const clock = await t.clockAt(start);
  const customer = await t.customer({ clock, card: 'pm_card_visa' });
  const sub = await t.ok({ method: 'POST', url: '/v1/subscriptions', payload: { customer, items: [{ price: await t.priceId(price) }], trial_end: 'now' } });
  expect(sub.status).toBe('active');
  await t.setDefaultCard(customer, 'pm_card_chargeCustomerFail');
  return { clock, customer, sub };
}

async function invoicesOf(sub: string) {
  return ((await t.ok({ method: 'GET', url: `/v1/invoices?subscription=${sub}&limit=100` })).data as { id: string; status: string; attempt_count: number; period_start: number }[]).slice().reverse();
}

async function paymentIntentsOf(customer: string) {
  return (await t.ok({ method: 'GET', url: `/v1/payment_intents?customer=${customer}&limit=100` })).data as { id: string; invoice: string; created: number; status: string }[];
}

describe('unpaid subscription', () => {
  it('keeps creating invoices but attempts no payment on them (Stripe: "payments aren\'t attempted")', async () => {
    const { clock, customer, sub } = await activeThenFailingCard('2026-02-01T00:00:00Z', 'elite_monthly');
    // The high-value plan: retries over three weeks, then mark_unpaid.
    for (const at of ['2026-03-01T02:00:00Z', '2026-03-10T00:00:00Z', '2026-03-20T00:00:00Z', '2026-03-28T00:00:00Z']) await t.advance(clock, at);
    const mid = await t.ok({ method: 'GET', url: `/v1/subscriptions/${sub.id}` });
    expect(mid.status).toBe('unpaid');
    await t.advance(clock, '2026-04-01T03:00:00Z');
    const invs = await invoicesOf(sub.id);
    const april = invs.find((i) => i.period_start === unix('2026-04-01T00:00:00Z'))!;
    expect(april).toBeDefined();
    const pis = (await paymentIntentsOf(customer)).filter((p) => p.invoice === april.id);
    expect({ attempts: april.attempt_count, paymentIntents: pis.length }).toEqual({ attempts: 0, paymentIntents: 0 });
  });
});

describe('immediate cancel of a past_due subscription', () => {
  it('makes no further payment attempt on its open invoice', async () => {
    const { clock, customer, sub } = await activeThenFailingCard('2026-02-01T00:00:00Z', 'community_monthly');
    await t.advance(clock, '2026-03-01T03:00:00Z');
    expect((await t.ok({ method: 'GET', url: `/v1/subscriptions/${sub.id}` })).status).toBe('past_due');
    await t.ok({ method: 'DELETE', url: `/v1/subscriptions/${sub.id}` });
    const canceledAt = unix('2026-03-01T03:00:00Z');
    await t.advance(clock, '2026-03-06T00:00:00Z');
    const after = (await paymentIntentsOf(customer)).filter((p) => p.created > canceledAt);
    expect(after.map((p) => p.created)).toEqual([]);
  });
});
