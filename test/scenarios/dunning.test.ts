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

describe('high-value segment: phone tasks, escalation to the owner', () => {
  it('creates phone tasks, escalates after two unanswered calls, moves a retry out of quiet hours, and recovers when a card is saved', async () => {
    const clock = await t.clockAt('2026-01-05T15:00:00Z');
    const cus = await t.customer({ clock, card: 'pm_card_visa', email: 'jordan@bigco.example', name: 'Jordan Blake', phone: '+14155550111', timezone: 'America/New_York' });
    const sub = await t.ok({ method: 'POST', url: '/v1/subscriptions', payload: { customer: cus, items: [{ price: await t.priceId('elite_monthly') }], trial_period_days: 0 } });
    await t.setDefaultCard(cus, 'pm_card_chargeDeclinedInsufficientFunds');
    await t.advance(clock, '2026-02-05T16:30:00Z');
    const inv = (await invoicesOf(sub.id))[1];
    let campaign = await t.campaignOf(inv.id);
    expect(campaign.segment).toBe('high_value');
    expect(campaign.segment_rule.rule.id).toBe('high_value');
    expect(campaign.segment_rule.facts.mrr).toBe(500000);

    // Step 1 (30 min): a phone task with the context and the script.
    let tasks = (await t.ok({ method: 'GET', url: `/v1/dunning/tasks?customer=${cus}&status=open` })).data;
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ amount: 500000, currency: 'usd', step: 1, due_at: unix('2026-02-05T16:30:00Z'), status: 'open', assignee: null });
    expect(tasks[0].script_hints[0]).toBe('Call Jordan Blake on +14155550111 (jordan@bigco.example).');
    expect(tasks[0].script_hints[1]).toBe("$5,000.00 is due on invoice " + inv.number + "; the last decline was 'insufficient_funds'.");
    const patched = await t.ok({ method: 'PATCH', url: `/v1/dunning/tasks/${tasks[0].id}`, payload: { assignee: 'alex@coaching.example', outcome: 'no_answer', notes: 'voicemail' } });
    expect(patched).toMatchObject({ status: 'completed', outcome: 'no_answer', assignee: 'alex@coaching.example' });

    // Step 3 (12 h) would be 04:00Z = 23:00 in New York: moved to 08:00 there (13:00Z).
    await t.advance(clock, '2026-02-07T16:00:00Z');
    campaign = await t.campaignOf(inv.id);
    expect(campaign.steps.map((s: { step: number; ran_at: number }) => [s.step, iso(s.ran_at)])).toEqual([
      [1, '2026-02-05T16:30:00Z'],
      [2, '2026-02-05T18:00:00Z'],
      [3, '2026-02-06T13:00:00Z'],
      [4, '2026-02-07T16:00:00Z'],
    ]);
    expect(campaign.offers.map((o: { kind: string; status: string }) => [o.kind, o.status])).toEqual([['payment_plan', 'offered']]);
    tasks = (await t.ok({ method: 'GET', url: `/v1/dunning/tasks?customer=${cus}&status=open` })).data;
    expect(tasks).toHaveLength(1);
    expect(tasks[0].step).toBe(4);
    expect(mailsTo('owner@coaching.example')).toHaveLength(0);

    // A second unanswered call escalates to the owner at once.
    await t.ok({ method: 'PATCH', url: `/v1/dunning/tasks/${tasks[0].id}`, payload: { outcome: 'no_answer' } });
    await t.advance(clock, '2026-02-07T16:01:00Z');
    const owner = mailsTo('owner@coaching.example');
    expect(owner).toHaveLength(1);
    expect(owner[0]!.subject).toBe('Escalation: Jordan Blake owes $5,000.00 (Elite 1:1 Coaching)');
    expect(owner[0]!.text).toContain('Customer: Jordan Blake (jordan@bigco.example, ' + cus + ')');
    expect(owner[0]!.text).toContain('Last decline: insufficient_funds');
    expect(owner[0]!.text).toContain('Calls: no_answer (voicemail); no_answer — escalated at 2 unanswered calls');
    expect((await t.campaignOf(inv.id)).escalated_at).toBe(unix('2026-02-07T16:00:00Z'));

    // The customer saves a new card through the API: retried at once (the clock's next step), recovered.
    await t.setDefaultCard(cus, 'pm_card_visa');
    await t.advance(clock, '2026-02-07T17:00:00Z');
    campaign = await t.campaignOf(inv.id);
    expect(campaign).toMatchObject({ status: 'recovered', recovered_channel: 'card_update', recovered_at: unix('2026-02-07T16:01:00Z') });
    expect(campaign.tasks.every((x: { status: string }) => x.status !== 'open')).toBe(true);
    expect((await t.ok({ method: 'GET', url: `/v1/subscriptions/${sub.id}` })).status).toBe('active');
  });
});

describe('trial segment: offered an extension', () => {
  it('sends the trial-ending notice, onboarding help, then the extension offer; taking it puts the subscription back in trial once', async () => {
    const clock = await t.clockAt('2026-01-05T15:00:00Z');
    const cus = await t.customer({ clock, card: 'pm_card_chargeDeclinedInsufficientFunds', email: 'riley@example.com', name: 'Riley Chen', timezone: 'America/New_York' });
    const sub = await t.ok({ method: 'POST', url: '/v1/subscriptions', payload: { customer: cus, items: [{ price: await t.priceId('community_monthly') }] } });
    expect(sub).toMatchObject({ status: 'trialing', trial_end: unix('2026-02-04T15:00:00Z') });

    await t.advance(clock, '2026-02-05T16:00:00Z');
    const ending = (await t.messages(cus)).find((m) => m.template === 'trial_ending');
    expect(ending).toMatchObject({ sent_at: unix('2026-02-01T15:00:00Z'), subject: 'Your Community Access trial ends on February 4, 2026' });
    const inv = (await invoicesOf(sub.id))[1];
    let campaign = await t.campaignOf(inv.id);
    expect(campaign).toMatchObject({ segment: 'trial', first_failed_at: unix('2026-02-04T16:00:00Z') });
    expect(campaign.steps.map((s: { step: number; ran_at: number }) => [s.step, iso(s.ran_at)])).toEqual([
      [1, '2026-02-04T18:00:00Z'],
      [2, '2026-02-05T16:00:00Z'],
    ]);
    const mails = mailsTo('riley@example.com');
    expect(mails.map((m) => m.subject)).toContain('Your first payment for Community Access did not go through');
    const offerMail = mails.filter((m) => m.subject.startsWith('Action needed'))[0]!;
    expect(offerMail.text).toContain('An offer for you: Not ready yet? Extend your trial by 7 days, once, free of charge.');

    // The customer takes the offer on the payment page.
    const link = payLinkIn(offerMail.text);
    const page = await t.app.inject({ method: 'GET', url: link });
    expect(page.body).toContain('Extend your trial by 7 days');
    const offerId = campaign.offers[0].id;
    const taken = await t.app.inject({ method: 'POST', url: `${link}/offers/${offerId}` });
    expect(taken.statusCode).toBe(200);
    expect(taken.body).toContain('your trial is extended');

    campaign = await t.campaignOf(inv.id);
    expect(campaign).toMatchObject({ status: 'resolved', close_reason: 'trial_extended' });
    expect(campaign.offers[0]).toMatchObject({ kind: 'trial_extension', status: 'accepted', taken: true, result: { trial_end: unix('2026-02-12T16:00:00Z'), voided_invoice: inv.id } });
    const after = await t.ok({ method: 'GET', url: `/v1/subscriptions/${sub.id}` });
    expect(after).toMatchObject({ status: 'trialing', trial_end: unix('2026-02-12T16:00:00Z') });
    expect((await invoicesOf(sub.id))[1].status).toBe('void');

    // The extended trial ends, the card still fails: a new trial campaign, without a second extension.
    await t.advance(clock, '2026-02-14T00:00:00Z');
    const next = (await invoicesOf(sub.id))[2];
    const second = await t.campaignOf(next.id);
    expect(second.segment).toBe('trial');
    expect(second.offers).toEqual([]);
  });
});

describe('exhaustion, hard declines and quiet hours', () => {
  it("cancels a subscription schedule with the subscription it gave up on: subscription_schedule.aborted (Stripe's delinquency)", async () => {
    const clock = await t.clockAt('2026-01-05T15:00:00Z');
    const cus = await t.customer({ clock, card: 'pm_card_visa', email: 'lee@example.com' });
    const sub = await t.ok({ method: 'POST', url: '/v1/subscriptions', payload: { customer: cus, items: [{ price: await t.priceId('community_monthly') }], trial_period_days: 0 } });
    const sched = await t.ok({ method: 'POST', url: '/v1/subscription_schedules', payload: { from_subscription: sub.id } });
    await t.ok({ method: 'POST', url: `/v1/subscription_schedules/${sched.id}`, payload: { phases: [{ items: [{ price: await t.priceId('community_monthly') }], start_date: sched.phases[0].start_date, iterations: 12 }] } });
    await t.setDefaultCard(cus, 'pm_card_chargeDeclined');
    await t.advance(clock, '2026-02-25T00:00:00Z');
    expect((await t.ok({ method: 'GET', url: `/v1/subscriptions/${sub.id}` })).status).toBe('canceled');
    const after = await t.ok({ method: 'GET', url: `/v1/subscription_schedules/${sched.id}` });
    expect([after.status, after.canceled_at]).toEqual(['canceled', unix('2026-02-22T16:00:00Z')]);
    const types = (await t.ok({ method: 'GET', url: `/v1/events?customer=${cus}&limit=100` })).data.map((e: { type: string }) => e.type).filter((x: string) => x.startsWith('subscription_schedule.'));
    expect(types).toEqual(['subscription_schedule.aborted', 'subscription_schedule.updated', 'subscription_schedule.created']);
  });

  it('runs the standard plan to its end: cancels the subscription, marks the invoice uncollectible, dunning.exhausted', async () => {
    const clock = await t.clockAt('2026-01-05T15:00:00Z');
    const cus = await t.customer({ clock, card: 'pm_card_visa', email: 'lee@example.com' });
    const sub = await t.ok({ method: 'POST', url: '/v1/subscriptions', payload: { customer: cus, items: [{ price: await t.priceId('community_monthly') }], trial_period_days: 0 } });
    await t.setDefaultCard(cus, 'pm_card_chargeDeclined');
    await t.advance(clock, '2026-02-25T00:00:00Z');
    const inv = (await invoicesOf(sub.id))[1];
    const campaign = await t.campaignOf(inv.id);
    // UTC customer: 16:00Z is daytime, nothing moves.
    expect(campaign.steps.map((s: { ran_at: number }) => iso(s.ran_at))).toEqual([
      '2026-02-05T17:00:00Z',
      '2026-02-06T16:00:00Z',
      '2026-02-08T16:00:00Z',
      '2026-02-12T16:00:00Z',
      '2026-02-19T16:00:00Z',
    ]);
    expect(campaign).toMatchObject({ status: 'exhausted', closed_at: unix('2026-02-22T16:00:00Z') });
    expect(campaign.offers.map((o: { kind: string; status: string; terms: { percent_off: number } }) => [o.kind, o.terms.percent_off, o.status])).toEqual([
      ['discount', 20, 'expired'],
      ['discount', 30, 'expired'],
    ]);
    const s = await t.ok({ method: 'GET', url: `/v1/subscriptions/${sub.id}` });
    expect(s).toMatchObject({ status: 'canceled', ended_at: unix('2026-02-22T16:00:00Z') });
    expect(s.cancellation_details.reason).toBe('payment_failed');
    expect((await invoicesOf(sub.id))[1].status).toBe('uncollectible');
    const ev = await t.ok({ method: 'GET', url: `/v1/events?type=dunning.exhausted&customer=${cus}` });
    expect(ev.data[0].data.object.final_action).toEqual({ subscription: 'cancel', invoice: 'mark_uncollectible', grace_hours: 72 });
    expect(mailsTo('lee@example.com').map((m) => m.subject)).toContain('Your Community Access subscription has been canceled');
    const step4 = mailsTo('lee@example.com').filter((m) => m.subject.startsWith('Action needed'))[3]!;
    expect(step4.text).toContain('An offer for you: Take 20% off your next invoice.');
  });

  it('after a hard decline skips retries with that card, asks for a new one, and retries at once when one is saved', async () => {
    const clock = await t.clockAt('2026-01-05T15:00:00Z');
    const cus = await t.customer({ clock, card: 'pm_card_visa', email: 'kim@example.com' });
    const sub = await t.ok({ method: 'POST', url: '/v1/subscriptions', payload: { customer: cus, items: [{ price: await t.priceId('community_monthly') }], trial_period_days: 0 } });
    const lost = await t.setDefaultCard(cus, 'pm_card_chargeDeclinedLostCard');
    await t.advance(clock, '2026-02-06T17:00:00Z');
    const inv = (await invoicesOf(sub.id))[1];
    const campaign = await t.campaignOf(inv.id);
    expect(campaign).toMatchObject({ needs_payment_method: true, blocked_payment_methods: [lost] });
    expect(campaign.steps.map((s: { retry: string }) => s.retry)).toEqual(['skipped', 'skipped']);
    expect(await attemptsOf(inv.id)).toHaveLength(1); // only the renewal's own attempt
    const asks = mailsTo('kim@example.com').filter((m) => m.subject === 'Please update your card: $97.00 for Community Access is unpaid');
    expect(asks).toHaveLength(2);

    await t.setDefaultCard(cus, 'pm_card_visa');
    await t.advance(clock, '2026-02-06T17:05:00Z');
    const after = await t.campaignOf(inv.id);
    expect(after).toMatchObject({ status: 'recovered', recovered_channel: 'card_update', recovered_at: unix('2026-02-06T17:00:00Z') });
    const attempts = await attemptsOf(inv.id);
    expect(attempts.map((p: { status: string; created: number }) => [p.status, iso(p.created)])).toEqual([
      ['requires_payment_method', '2026-02-05T16:00:00Z'],
      ['succeeded', '2026-02-06T17:00:00Z'],
    ]);
  });

  it('moves a retry out of the customer’s quiet hours, in their timezone', async () => {
    // Renewal charged at 05:00Z: 21:00 the evening before in Los Angeles, 14:00 in Tokyo.
    const clock = await t.clockAt('2026-01-05T04:00:00Z');
    const la = await t.customer({ clock, card: 'pm_card_visa', email: 'la@example.com', timezone: 'America/Los_Angeles' });
    const tokyo = await t.customer({ clock, card: 'pm_card_visa', email: 'tokyo@example.com', timezone: 'Asia/Tokyo' });
    const price = await t.priceId('community_monthly');
    const subs = [];
    for (const c of [la, tokyo]) {
      subs.push((await t.ok({ method: 'POST', url: '/v1/subscriptions', payload: { customer: c, items: [{ price }], trial_period_days: 0 } })).id);
      await t.setDefaultCard(c, 'pm_card_chargeDeclinedInsufficientFunds');
    }
    await t.advance(clock, '2026-02-05T20:00:00Z');
    const [laCampaign, tokyoCampaign] = [await t.campaignOf((await invoicesOf(subs[0]))[1].id), await t.campaignOf((await invoicesOf(subs[1]))[1].id)];
    expect(laCampaign.first_failed_at).toBe(unix('2026-02-05T05:00:00Z'));
    // +1 h is 22:00 in Los Angeles: moved to 08:00 there (16:00Z). In Tokyo it is 15:00: on time.
    expect(iso(laCampaign.steps[0].ran_at)).toBe('2026-02-05T16:00:00Z');
    expect(iso(tokyoCampaign.steps[0].ran_at)).toBe('2026-02-05T06:00:00Z');
  });
});

describe('card-expiry and renewal notices', () => {
  it('sends the card notices 30 and 7 days before expiry and the renewal notice 7 days before a quarterly renewal, once each', async () => {
    const clock = await t.clockAt('2026-01-05T15:00:00Z');
    const cus = await t.customer({ clock, email: 'pat@example.com', name: 'Pat Doe' });
    const pm = await t.ok({ method: 'POST', url: '/v1/payment_methods', payload: { type: 'card', card: { number: '4242424242424242', exp_month: 2, exp_year: 2026, cvc: '123' } } });
    await t.setDefaultCard(cus, pm.id);
    await t.ok({ method: 'POST', url: '/v1/subscriptions', payload: { customer: cus, items: [{ price: await t.priceId('group_quarterly') }], trial_period_days: 0 } });
    await t.advance(clock, '2026-03-30T00:00:00Z');
    const notices = (await t.messages(cus)).filter((m) => m.template === 'card_expiring' || m.template === 'upcoming_renewal');
    expect(notices.map((m) => [m.template, iso(m.sent_at), m.subject])).toEqual([
      ['card_expiring', '2026-01-30T00:00:00Z', 'Your card ending 4242 expires 02/2026'],
      ['card_expiring', '2026-02-22T00:00:00Z', 'Your card ending 4242 expires 02/2026'],
      ['upcoming_renewal', '2026-03-29T15:00:00Z', 'Group Coaching Programs renews on April 5, 2026'],
    ]);
    expect(notices[0].text).toContain('expires at the end of 02/2026 (30 days from now)');
    expect(notices[1].text).toContain('(7 days from now)');
    expect(notices[2].text).toContain('renews on April 5, 2026 for $4,200.00, charged to your card ending 4242.');
    // Non-essential: each carries an unsubscribe link, which works.
    const mail = mailsTo('pat@example.com').find((m) => m.subject === 'Group Coaching Programs renews on April 5, 2026')!;
    expect(mail.headers['list-unsubscribe']).toMatch(/^<https:\/\/billing\.example\.com\/notifications\/unsubscribe\/.+>$/);
    const unsub = /https:\/\/billing\.example\.com(\/notifications\/unsubscribe\/\S+)/.exec(mail.text)![1]!;
    expect((await t.app.inject({ method: 'GET', url: unsub })).body).toContain('<form method="post"');
    expect((await t.app.inject({ method: 'POST', url: unsub })).body).toContain('You are unsubscribed');
    expect((await t.ok({ method: 'GET', url: `/v1/customers/${cus}/notification_preferences` })).unsubscribed).toEqual(['account_notices']);
  });
});
