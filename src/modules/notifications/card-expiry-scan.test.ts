import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp, unix } from '../../../test/helpers/billing.js';

// The card-expiry notice scan runs on every test clock advance and worker pass: no stored card expiry
// may make it throw (defence in depth: the API refuses expiry years more than 50 years ahead, but a
// row from before that rule, or a gateway webhook, could hold any value).

type T = Awaited<ReturnType<typeof createBillingApp>>;
let t: T;

beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

async function subscribedCustomer(clock: string, card: { exp_month: unknown; exp_year: unknown }) {
  const cus = await t.customer({ clock, card: 'pm_card_visa' });
  const pm = (await t.call({ method: 'GET', url: `/v1/customers/${cus}` })).body.invoice_settings.default_payment_method as string;
  await t.testDb.db.query(`UPDATE payment_methods SET card = card || $2::jsonb WHERE id = $1`, [pm, JSON.stringify(card)]);
  const sub = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: cus, items: [{ price: await t.priceId('community_monthly') }], trial_period_days: 0 } });
  expect(sub.status).toBe(200);
  return cus;
}

const notices = async (customer: string) =>
  Number((await t.testDb.db.query<{ n: string }>(`SELECT count(*) AS n FROM notification_messages WHERE customer = $1 AND template = 'card_expiring'`, [customer])).rows[0]!.n);

describe('card-expiry scan', () => {
  it('skips cards with impossible stored expiries (a test clock advance answers 200) and still notices the expiring one', async () => {
    const clock = await t.clockAt('2026-01-15T12:00:00Z');
    const odd = [];
    for (const card of [
      { exp_month: 12, exp_year: 300_000 },
      { exp_month: 12, exp_year: Number.MAX_SAFE_INTEGER },
      { exp_month: 12, exp_year: 1e30 },
      { exp_month: 13, exp_year: 2026 },
      { exp_month: 1.5, exp_year: 2026 },
      { exp_month: 1, exp_year: 2026.5 },
      { exp_month: 1, exp_year: 'abc' },
      { exp_month: null, exp_year: 2026 },
    ]) {
      odd.push(await subscribedCustomer(clock, card));
    }
    // Expires at 2026-02-01: its 30-day notice fell due on 2026-01-02.
    const expiring = await subscribedCustomer(clock, { exp_month: 1, exp_year: 2026 });
    const adv = await t.call({ method: 'POST', url: `/v1/test_helpers/test_clocks/${clock}/advance`, payload: { frozen_time: unix('2026-01-17T12:00:00Z') } });
    expect(adv.status, JSON.stringify(adv.body)).toBe(200);
    expect(adv.body.status).toBe('ready');
    expect(await notices(expiring)).toBe(1);
    for (const cus of odd) expect(await notices(cus)).toBe(0);
  });
});
