import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSmtp, type TestSmtp } from '../fakes/smtp.js';
import { createDunningApp, iso, payLinkIn, unix, type DunningApp } from './dunning-support.js';

// Dunning stories on test clocks, with a real SMTP server receiving and parsing every email. Times
// are written out by hand: a failure at 16:00Z, the standard plan's steps 1 h, 24 h and 72 h later,
// quiet hours 21:00–08:00 in the customer's own timezone.

let t: DunningApp;
let smtp: TestSmtp;

beforeAll(async () => {
  smtp = await startSmtp();
  t = await createDunningApp('2026-01-05T15:00:00Z', { smtpUrl: smtp.url, emailFrom: 'Coaching Billing <billing@coaching.example>', ownerEmail: 'owner@coaching.example' });
});
afterAll(async () => {
  await t?.close();
  await smtp?.close();
});

const mailsTo = (addr: string) => smtp.mails.filter((m) => m.to.includes(addr));

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function invoicesOf(sub: string): Promise<any[]> {
  return (await t.ok({ method: 'GET', url: `/v1/invoices?subscription=${sub}&limit=100` })).data.slice().reverse();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function attemptsOf(invoice: string): Promise<any[]> {
  return (await t.ok({ method: 'GET', url: `/v1/payment_intents?invoice=${invoice}&limit=100` })).data.slice().reverse();
}

describe('standard segment: recovers after a card update at step 3', () => {
  it('retries at 1 h, 24 h and 72 h, emails and texts, then recovers through the link in the step-3 email', async () => {
    const clock = await t.clockAt('2026-01-05T15:00:00Z');
    const cus = await t.customer({ clock, card: 'pm_card_visa', email: 'sam@example.com', name: 'Sam Rivera', phone: '+14155550100', timezone: 'America/New_York' });
    const sub = await t.ok({ method: 'POST', url: '/v1/subscriptions', payload: { customer: cus, items: [{ price: await t.priceId('community_monthly') }], trial_period_days: 0 } });
    expect(sub.status).toBe('active');
    // The card stops working before the first renewal.
    await t.setDefaultCard(cus, 'pm_card_chargeDeclinedInsufficientFunds');

    // Renewal at 15:00Z, finalised and charged an hour later: the first failure is at 16:00Z.
    await t.advance(clock, '2026-02-05T16:00:00Z');
    const renewal = (await invoicesOf(sub.id))[1];
    expect(renewal.status).toBe('open');
    let campaign = await t.campaignOf(renewal.id);
    expect(campaign).toMatchObject({ status: 'active', segment: 'standard', amount: 9700, first_failed_at: unix('2026-02-05T16:00:00Z'), next_step: 0, next_step_at: unix('2026-02-05T17:00:00Z') });
    expect(campaign.segment_rule.rule.id).toBe('standard');
    expect(campaign.segment_rule.facts).toMatchObject({ mrr: 9700, currency: 'usd' });
    expect((await t.ok({ method: 'GET', url: `/v1/subscriptions/${sub.id}` })).status).toBe('past_due');

    const failed = mailsTo('sam@example.com').find((m) => m.subject === 'Your payment of $97.00 did not go through')!;
    expect(failed.from).toBe('billing@coaching.example');
    expect(failed.text).toContain('We could not collect $97.00 for Community Access from your card ending 9995.');
    expect(failed.text).toContain('We will try again on February 5, 2026 at 12:00 PM.'); // 17:00Z in New York
    expect(failed.html).toContain('Update your payment details');
    expect(failed.messageId).toMatch(/^<msg_[A-Za-z0-9]+@recur>$/);

    await t.advance(clock, '2026-02-08T16:00:00Z');
    campaign = await t.campaignOf(renewal.id);
    // Three retries, each exactly at its offset from the first failure.
    expect(campaign.steps.map((s: { step: number; ran_at: number; retry: string }) => [s.step, iso(s.ran_at), s.retry])).toEqual([
      [1, '2026-02-05T17:00:00Z', 'failed'],
      [2, '2026-02-06T16:00:00Z', 'failed'],
      [3, '2026-02-08T16:00:00Z', 'failed'],
    ]);
    const attempts = await attemptsOf(renewal.id);
    expect(attempts.map((p: { created: number }) => iso(p.created))).toEqual(['2026-02-05T16:00:00Z', '2026-02-05T17:00:00Z', '2026-02-06T16:00:00Z', '2026-02-08T16:00:00Z']);
    expect(campaign.next_step_at).toBe(unix('2026-02-12T16:00:00Z')); // step 4 at 168 h

    const reminders = mailsTo('sam@example.com').filter((m) => m.subject === 'Action needed: $97.00 for Community Access is still unpaid');
    expect(reminders).toHaveLength(3);
    expect(reminders[0]!.text).toContain('Our next attempt is on February 6, 2026 at 11:00 AM.');
    // The SMS of step 3 went to the outbox (no Twilio configured), recorded with its recipient.
    const sms = (await t.messages(cus)).filter((m) => m.channel === 'sms');
    expect(sms).toHaveLength(1);
    expect(sms[0]).toMatchObject({ status: 'outbox', recipient: '+14155550100', template: 'dunning_sms', provider: 'outbox' });
    expect(sms[0].text).toMatch(/^Your payment of \$97\.00 for Community Access failed\. Update your card: https:\/\/billing\.example\.com\/pay\//);

    // The customer opens the link in the step-3 email and saves a new card.
    const link = payLinkIn(reminders[2]!.text);
    const page = await t.app.inject({ method: 'GET', url: link });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('$97.00');
    expect(page.body).toContain('<form method="post"');
    const paid = await t.app.inject({ method: 'POST', url: link, payload: 'number=4242424242424242&exp_month=12&exp_year=2030&cvc=123&name=Sam+Rivera', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(paid.statusCode).toBe(200);
    expect(paid.body).toContain('the payment went through');

    campaign = await t.campaignOf(renewal.id);
    expect(campaign).toMatchObject({ status: 'recovered', recovered_step: 2, recovered_channel: 'email', recovered_amount: 9700, recovered_at: unix('2026-02-08T16:00:00Z') });
    expect((await invoicesOf(sub.id))[1].status).toBe('paid');
    expect((await t.ok({ method: 'GET', url: `/v1/subscriptions/${sub.id}` })).status).toBe('active');
    const recovered = await t.ok({ method: 'GET', url: `/v1/events?type=dunning.recovered&customer=${cus}` });
    expect(recovered.data).toHaveLength(1);
    expect(recovered.data[0].data.object.id).toBe(campaign.id);

    // The receipt goes out from invoice.paid on the clock's next step; no further retry runs.
    await t.advance(clock, '2026-02-20T00:00:00Z');
    const receipts = mailsTo('sam@example.com').filter((m) => m.subject === 'Receipt: $97.00 for Community Access');
    expect(receipts.map((r) => r.text.includes('card ending 4242'))).toEqual([true, true]); // January's and the recovered one
    expect((await attemptsOf(renewal.id)).length).toBe(5);
    expect((await t.campaignOf(renewal.id)).status).toBe('recovered');
  });
});
