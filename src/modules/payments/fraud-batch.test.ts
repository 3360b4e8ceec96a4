import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers/app.js';
import { assessPayments, DEFAULT_FRAUD, type FraudInput } from './fraud.js';
import type { PaymentMethodRow } from './repository.js';

// assessPayments over a batch first finds the inputs with any signal (a recent attempt by their card,
// customer or IP, or an active block) and counts only those. Each input below has exactly one kind of
// signal, so dropping any part of that first statement changes one decision here; the quiet inputs
// between them must stay quiet (their counts are not taken from a neighbour's).

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ start: '2026-03-01T12:00:00Z' });
});
afterAll(() => t.close());

async function customerWithCard(): Promise<{ customer: string; pm: PaymentMethodRow }> {
  const c = await t.call({ method: 'POST', url: '/v1/customers', payload: { email: 'f@example.com' } });
  const pm = await t.call({ method: 'POST', url: '/v1/payment_methods/pm_card_visa/attach', payload: { customer: c.body.id } });
  const row = (await t.testDb.db.query<PaymentMethodRow>(`SELECT * FROM payment_methods WHERE id = $1`, [pm.body.id])).rows[0]!;
  return { customer: c.body.id, pm: row };
}

let seq = 0;
/** A declined attempt on record, `minutesAgo` before now. */
async function failure(o: { customer: string; pm: string; ip?: string; minutesAgo: number }): Promise<void> {
  const at = new Date(t.clock.now().getTime() - o.minutesAgo * 60_000);
  await t.testDb.db.query(
    `INSERT INTO payment_intents (id, customer, amount, currency, status, payment_method, gateway, idempotency_key, failure_class, client_ip, created, updated)
     VALUES ($1, $2, 2000, 'usd', 'requires_payment_method', $3, 'simulated', $1, 'hard_decline', $4, $5, $5)`,
    [`pi_fraudbatch_${++seq}`, o.customer, o.pm, o.ip ?? null, at],
  );
}

describe('fraud rules for a batch', () => {
  it('counts the inputs with a signal, whichever kind, and leaves the quiet ones quiet', async () => {
    const quiet1 = await customerWithCard();
    const byCard = await customerWithCard(); // its card failed 6 times under another customer (it moved)
    const other = await customerWithCard();
    const byCustomer = await customerWithCard(); // 11 failures of the customer with other cards
    const byIp = await customerWithCard(); // 21 failures from its IP, by others
    const blocked = await customerWithCard(); // an active block on its card's fingerprint
    const quiet2 = await customerWithCard();
    for (let i = 0; i < 6; i++) await failure({ customer: other.customer, pm: byCard.pm.id, minutesAgo: 10 + i });
    for (let i = 0; i < 11; i++) await failure({ customer: byCustomer.customer, pm: other.pm.id, minutesAgo: 10 + i });
    for (let i = 0; i < 21; i++) await failure({ customer: other.customer, pm: other.pm.id, ip: '203.0.113.9', minutesAgo: 5 });
    // Outside the hour: does not count.
    for (let i = 0; i < 6; i++) await failure({ customer: quiet2.customer, pm: quiet2.pm.id, minutesAgo: 61 + i });
    const fp = 'fp_blocked_batch';
    await t.testDb.db.query(`UPDATE payment_methods SET card = card || jsonb_build_object('fingerprint', $2::text) WHERE id = $1`, [blocked.pm.id, fp]);
    await t.testDb.db.query(
      `INSERT INTO payment_blocks (id, scope, value, rule, reason, until, created) VALUES ('pblk_batch', 'fingerprint', $1, 'payment_method_velocity', 'held', $2, $3)`,
      [fp, new Date(t.clock.now().getTime() + 3600_000), t.clock.now()],
    );
    const pmOf = async (id: string) => (await t.testDb.db.query<PaymentMethodRow>(`SELECT * FROM payment_methods WHERE id = $1`, [id])).rows[0]!;
    const input = async (c: { customer: string; pm: PaymentMethodRow }, ip: string | null = null): Promise<FraudInput> => ({
      customer: c.customer,
      paymentMethod: await pmOf(c.pm.id),
      amount: 9700,
      ip,
      billingCountry: 'US',
      now: t.clock.now(),
    });
    const decisions = await assessPayments(t.testDb.db, DEFAULT_FRAUD, [
      await input(quiet1),
      await input(byCard),
      await input(quiet1, '198.51.100.1'),
      await input(byCustomer),
      await input(byIp, '203.0.113.9'),
      await input(blocked),
      await input(quiet2),
    ]);
    expect(decisions.map((d) => [d.outcome, d.rule])).toEqual([
      ['allow', null],
      ['block', 'payment_method_velocity'],
      ['allow', null],
      ['block', 'customer_velocity'],
      ['block', 'ip_velocity'],
      ['block', 'payment_method_velocity'],
      ['allow', null],
    ]);
    expect(decisions[5]!.reason).toBe('held');
  });
});
