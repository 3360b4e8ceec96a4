import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDunning } from '../../src/modules/dunning/seed.js';
import { createPersonalizer } from '../../src/modules/notifications/personalize.js';
import { startFakeOpenAi, type FakeOpenAi } from '../fakes/openai.js';
import { startSmtp, type TestSmtp } from '../fakes/smtp.js';
import { startFakeTwilio, type FakeTwilio } from '../fakes/twilio.js';
import { createDunningApp, iso, unix, type DunningApp } from './dunning-support.js';

// Channels and the rest of the surface: SMS through Twilio's SDK against a local server speaking
// its wire format, retries of transient failures, OpenAI personalisation against a local server,
// templates and preferences, the payment page's bad links, offers, NET-terms notices, stats.

let t: DunningApp;
let smtp: TestSmtp;
let twilio: FakeTwilio;
let openai: FakeOpenAi;

/** The fake model keeps the required lines (or drops them for "Drop"), after a personal greeting. */
function model(prompt: string): string {
  const email = prompt.split('\nEMAIL:\n')[1] ?? '';
  const name = /CUSTOMER: (.*)/.exec(prompt)?.[1] ?? '';
  if (name.startsWith('Drop')) return `Hello ${name}, please pay soon.`;
  return `Dear valued member,\n\n${email.split('\n\n').slice(1).join('\n\n')}`;
}

beforeAll(async () => {
  [smtp, twilio, openai] = await Promise.all([startSmtp(), startFakeTwilio(), startFakeOpenAi(model)]);
  t = await createDunningApp('2026-01-05T15:00:00Z', {
    smtpUrl: smtp.url,
    twilioAccountSid: twilio.accountSid,
    twilioAuthToken: twilio.authToken,
    twilioFrom: '+15005550006',
    twilioApiBaseUrl: twilio.baseUrl,
    openaiApiKey: 'sk-test-openai',
    openaiBaseUrl: openai.baseUrl,
  });
});
afterAll(async () => {
  await t?.close();
  await Promise.all([smtp?.close(), twilio?.close(), openai?.close()]);
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function invoicesOf(sub: string): Promise<any[]> {
  return (await t.ok({ method: 'GET', url: `/v1/invoices?subscription=${sub}&limit=100` })).data.slice().reverse();
}

async function failingSubscription(clock: string, o: { email: string; name: string; phone?: string; price?: string }) {
  const cus = await t.customer({ clock, card: 'pm_card_visa', email: o.email, name: o.name, phone: o.phone });
  const sub = await t.ok({ method: 'POST', url: '/v1/subscriptions', payload: { customer: cus, items: [{ price: await t.priceId(o.price ?? 'community_monthly') }], trial_period_days: 0 } });
  await t.setDefaultCard(cus, 'pm_card_chargeDeclinedInsufficientFunds');
  return { cus, sub: sub.id as string };
}

describe('SMS through Twilio, personalised email, transient failures', () => {
  it('sends the step-3 SMS through the Twilio SDK, retrying a 503; personalises reminders within the guardrails', async () => {
    const clock = await t.clockAt('2026-01-05T15:00:00Z');
    const a = await failingSubscription(clock, { email: 'ann@example.com', name: 'Ann Lee', phone: '+14155550123' });
    const b = await failingSubscription(clock, { email: 'drop@example.com', name: 'Drop Tables' });
    await t.advance(clock, '2026-02-06T16:00:00Z');

    // Step 2's reminder for Ann was rewritten by the model and kept the link and the amount.
    const annMails = smtp.mails.filter((m) => m.to.includes('ann@example.com') && m.subject.startsWith('Action needed'));
    expect(annMails).toHaveLength(2);
    expect(annMails[0]!.text.startsWith('Dear valued member,')).toBe(true);
    expect(annMails[0]!.text).toContain('$97.00');
    expect(annMails[0]!.text).toMatch(/https:\/\/billing\.example\.com\/pay\/\S+/);
    const annMsgs = (await t.messages(a.cus)).filter((m) => m.template === 'dunning_reminder');
    expect(annMsgs.map((m) => [m.personalized, m.status])).toEqual([
      [true, 'sent'],
      [true, 'sent'],
    ]);
    // For "Drop", the model dropped the link: the plain template went out, and the message says why.
    const dropMsgs = (await t.messages(b.cus)).filter((m) => m.template === 'dunning_reminder');
    expect(dropMsgs[0]).toMatchObject({ personalized: false, status: 'sent' });
    expect(dropMsgs[0].error).toMatch(/^personalisation skipped: missing required text/);
    expect(smtp.mails.find((m) => m.to.includes('drop@example.com') && m.subject.startsWith('Action needed'))!.text.startsWith('Hi Drop Tables,')).toBe(true);
    expect(openai.requests[0]!.model).toBe('gpt-4o-mini');

    // Step 3 at 72 h texts Ann; Twilio answers 503 once: the message is retried a minute later.
    twilio.failNext(1);
    await t.advance(clock, '2026-02-08T16:00:00Z');
    let sms = (await t.messages(a.cus)).filter((m) => m.channel === 'sms');
    expect(sms[0]).toMatchObject({ status: 'queued', attempts: 1, send_after: unix('2026-02-08T16:01:00Z') });
    expect(sms[0].error).toMatch(/^Twilio 20503: /);
    await t.advance(clock, '2026-02-08T16:02:00Z');
    sms = (await t.messages(a.cus)).filter((m) => m.channel === 'sms');
    expect(sms[0]).toMatchObject({ status: 'sent', attempts: 2, provider: 'twilio', provider_id: 'SM00000000000000000000000000000001', sent_at: unix('2026-02-08T16:01:00Z') });
    expect(twilio.messages).toEqual([{ sid: 'SM00000000000000000000000000000001', to: '+14155550123', from: '+15005550006', body: sms[0].text }]);
    // Drop has no phone: the SMS is recorded as suppressed, not dropped.
    expect((await t.messages(b.cus)).find((m) => m.channel === 'sms')).toMatchObject({ status: 'suppressed', error: 'the customer has no phone number' });

    // An SMTP server answering 451 once: queued again, delivered on the retry.
    smtp.failNext(1);
    await t.setDefaultCard(a.cus, 'pm_card_visa'); // recovers: a receipt is due
    await t.advance(clock, '2026-02-08T16:05:00Z');
    // The receipt's first try (16:02) got 451; the retry a minute later went through.
    const receipt = (await t.messages(a.cus)).filter((m) => m.template === 'payment_receipt').pop();
    expect(receipt).toMatchObject({ status: 'sent', attempts: 2, sent_at: unix('2026-02-08T16:03:00Z'), error: null });
    expect(smtp.mails.filter((m) => m.to.includes('ann@example.com') && m.subject.startsWith('Receipt'))).toHaveLength(2); // January's and this one
    const recovered = await t.ok({ method: 'GET', url: `/v1/dunning/campaigns?customer=${a.cus}` });
    expect(recovered.data.map((c: { status: string; recovered_channel: string }) => [c.status, c.recovered_channel])).toEqual([['recovered', 'card_update']]);
  });

  it('gives up on a slow model after the timeout and keeps the plain text', async () => {
    const p = createPersonalizer({ apiKey: 'sk-test-openai', baseUrl: openai.baseUrl, model: 'gpt-4o-mini', timeoutMs: 200 });
    openai.delayMs = 1000;
    const res = await p.personalize({ text: 'Hi\n\nPay $1.00: https://x.example/pay/t', required: ['$1.00'], customerName: 'Slow', locale: 'en' });
    openai.delayMs = 0;
    expect(res.ok).toBe(false);
    expect(res.ok ? '' : res.reason).toMatch(/^personalisation failed: /);
  });
});

describe('payment page', () => {
  it('answers tampered and expired links with a clear page; lets the customer take a discount offer', async () => {
    const clock = await t.clockAt('2026-01-05T15:00:00Z');
    const { cus, sub } = await failingSubscription(clock, { email: 'dee@example.com', name: 'Dee' });
    await t.advance(clock, '2026-02-12T16:00:00Z'); // through step 4 (20 % off once)
    const inv = (await invoicesOf(sub))[1];
    const campaign = await t.campaignOf(inv.id);
    const { url } = await t.ok({ method: 'POST', url: `/v1/dunning/campaigns/${campaign.id}/payment_link` });
    const link = new URL(url).pathname;

    const [body, sig] = link.slice('/pay/'.length).split('.');
    const tampered = await t.app.inject({ method: 'GET', url: `/pay/${body}.${sig!.slice(0, -2)}AA` });
    expect(tampered.statusCode).toBe(400);
    expect(tampered.headers['content-type']).toContain('text/html');
    expect(tampered.body).toContain('This link is not valid');
    expect((await t.app.inject({ method: 'GET', url: '/pay/garbage' })).body).toContain('This link is not valid');

    // The 20 % offer, taken on the page: a discount on the subscription for its next invoice.
    const page = await t.app.inject({ method: 'GET', url: link });
    expect(page.body).toContain('Take 20% off your next invoice.');
    const offer = campaign.offers.find((o: { kind: string }) => o.kind === 'discount');
    const taken = await t.app.inject({ method: 'POST', url: `${link}/offers/${offer.id}` });
    expect(taken.body).toContain('the discount applies to your next invoices');
    const after = await t.ok({ method: 'GET', url: `/v1/dunning/offers/${offer.id}` });
    expect(after).toMatchObject({ status: 'accepted', taken: true, coupon: `dunning_${campaign.id}_4`, accepted_at: unix('2026-02-12T16:00:00Z') });

    // A card that tokenises but declines is shown as such; nothing is lost.
    const declined = await t.app.inject({ method: 'POST', url: link, payload: 'number=4000000000000002&exp_month=12&exp_year=2030&cvc=123', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(declined.statusCode).toBe(402);
    expect(declined.body).toContain('the payment did not go through: Your card was declined.');
    const bad = await t.app.inject({ method: 'POST', url: link, payload: 'number=4242424242424241&exp_month=12&exp_year=2030', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('Your card number is incorrect.');

    // The customer pays; the next invoice carries the 20 % discount.
    await t.app.inject({ method: 'POST', url: link, payload: 'number=4242424242424242&exp_month=12&exp_year=2030', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    await t.advance(clock, '2026-03-05T17:00:00Z');
    const next = (await invoicesOf(sub))[2];
    expect([next.subtotal, next.total, next.status]).toEqual([9700, 7760, 'paid']);

    // Links expire (30 days by default): the page says so.
    await t.advance(clock, '2026-03-15T00:00:00Z');
    const expired = await t.app.inject({ method: 'GET', url: link });
    expect(expired.statusCode).toBe(410);
    expect(expired.body).toContain('This link has expired');
    expect((await t.campaignOf(inv.id)).status).toBe('recovered');
    void cus;
  });

  it('splits a high-value invoice into a payment plan taken by staff', async () => {
    const clock = await t.clockAt('2026-01-05T15:00:00Z');
    const { cus, sub } = await failingSubscription(clock, { email: 'max@bigco.example', name: 'Max', price: 'elite_monthly' });
    await t.advance(clock, '2026-02-07T16:00:00Z'); // step 4 offers the payment plan
    const inv = (await invoicesOf(sub))[1];
    const campaign = await t.campaignOf(inv.id);
    const offer = campaign.offers.find((o: { kind: string }) => o.kind === 'payment_plan');
    await t.setDefaultCard(cus, 'pm_card_visa');
    // Saving the card would retry at once on the next step; staff agree the plan first.
    const taken = await t.ok({ method: 'POST', url: `/v1/dunning/offers/${offer.id}/accept` });
    expect(taken.result.installments.map((i: { amount: number; due: number }) => [i.amount, iso(i.due)])).toEqual([
      [166667, '2026-02-07T16:00:00Z'],
      [166667, '2026-03-09T16:00:00Z'],
      [166666, '2026-04-08T16:00:00Z'],
    ]);
    expect((await t.campaignOf(inv.id))).toMatchObject({ status: 'resolved', close_reason: 'payment_plan' });
    await t.advance(clock, '2026-03-10T00:00:00Z');
    const all = await t.ok({ method: 'GET', url: `/v1/invoices?customer=${cus}&limit=100` });
    const plan = all.data.filter((i: { metadata: Record<string, string> }) => i.metadata.installment).reverse();
    expect(plan.map((i: { metadata: Record<string, string>; status: string; total: number }) => [i.metadata.installment, i.total, i.status])).toEqual([
      ['1/3', 166667, 'paid'],
      ['2/3', 166667, 'paid'],
      ['3/3', 166666, 'draft'],
    ]);
    expect(all.data.find((i: { id: string }) => i.id === inv.id).status).toBe('void');
  });
});

describe('NET terms notices, templates, plans, stats', () => {
  it('sends the invoice on finalisation and reminders 1, 7 and 14 days after the due date', async () => {
    const clock = await t.clockAt('2026-01-05T15:00:00Z');
    const cus = await t.customer({ clock, email: 'ap@enterprise.example', name: 'Enterprise AP' });
    await t.ok({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, amount: 2_500_000, currency: 'usd', description: 'Enterprise training' } });
    const draft = await t.ok({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: cus, collection_method: 'send_invoice', days_until_due: 30 } });
    const inv = await t.ok({ method: 'POST', url: `/v1/invoices/${draft.id}/finalize` });
    expect(inv.due_date).toBe(unix('2026-02-04T15:00:00Z'));
    await t.advance(clock, '2026-02-25T00:00:00Z');
    const msgs = (await t.messages(cus)).map((m) => [m.template, iso(m.sent_at), m.subject]);
    expect(msgs).toEqual([
      ['invoice_sent', '2026-01-05T15:00:00Z', `Invoice ${inv.number} for $25,000.00, due February 4, 2026`],
      ['invoice_overdue', '2026-02-05T15:00:00Z', `Reminder: invoice ${inv.number} ($25,000.00) is 1 days overdue`],
      ['invoice_overdue', '2026-02-11T15:00:00Z', `Reminder: invoice ${inv.number} ($25,000.00) is 7 days overdue`],
      ['invoice_overdue', '2026-02-18T15:00:00Z', `Reminder: invoice ${inv.number} ($25,000.00) is 14 days overdue`],
    ]);
  });

  it('edits and previews templates per locale, and uses the customer’s locale', async () => {
    const list = await t.ok({ method: 'GET', url: '/v1/notification_templates?key=payment_failed' });
    const en = list.data[0];
    expect(en).toMatchObject({ key: 'payment_failed', locale: 'en', channel: 'email', essential: true });
    const bad = await t.call({ method: 'POST', url: `/v1/notification_templates/${en.id}`, payload: { text: 'Hi {{#if x}}' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'template_invalid', param: 'text' });
    const de = await t.ok({
      method: 'POST',
      url: '/v1/notification_templates',
      payload: { key: 'payment_failed', locale: 'de', channel: 'email', essential: true, category: 'billing', subject: 'Zahlung über {{amount}} fehlgeschlagen', html: '<p>Hallo {{customer_name}}</p>', text: 'Hallo {{customer_name}},\n\n{{amount}} konnten nicht eingezogen werden: {{payment_update_link}}' },
    });
    const preview = await t.ok({ method: 'POST', url: `/v1/notification_templates/${de.id}/preview`, payload: { variables: { customer_name: 'Jörg <b>' } } });
    expect(preview).toMatchObject({ subject: 'Zahlung über $97.00 fehlgeschlagen', text: 'Hallo Jörg <b>,\n\n$97.00 konnten nicht eingezogen werden: https://billing.example.com/pay/sample' });
    expect(preview.html).toContain('<p>Hallo Jörg &lt;b&gt;</p>');

    const clock = await t.clockAt('2026-01-05T15:00:00Z');
    const { cus } = await failingSubscription(clock, { email: 'joerg@example.de', name: 'Jörg' });
    await t.ok({ method: 'POST', url: `/v1/customers/${cus}/notification_preferences`, payload: { locale: 'de', timezone: 'Europe/Berlin' } });
    expect((await t.call({ method: 'POST', url: `/v1/customers/${cus}/notification_preferences`, payload: { timezone: 'Mars/Olympus' } })).status).toBe(400);
    await t.advance(clock, '2026-02-05T16:30:00Z');
    // German template, German money formatting.
    const mail = smtp.mails.find((m) => m.to.includes('joerg@example.de') && m.subject.startsWith('Zahlung'))!;
    expect(mail.subject).toBe('Zahlung über 97,00 $ fehlgeschlagen');
    expect(mail.text).toMatch(/^Hallo Jörg,\n+97,00\s\$ konnten nicht eingezogen werden: https:\/\/billing\.example\.com\/pay\//);
  });

  it('keeps plans and segmentation as validated data; seeding twice changes nothing', async () => {
    const plans = await t.ok({ method: 'GET', url: '/v1/dunning_plans' });
    expect(plans.data.map((p: { key: string }) => p.key).sort()).toEqual(['high_value', 'standard', 'trial']);
    const std = await t.ok({ method: 'GET', url: '/v1/dunning_plans/standard' });
    expect(std.final_action).toEqual({ subscription: 'cancel', invoice: 'mark_uncollectible', grace_hours: 72 });
    const bad = await t.call({ method: 'POST', url: '/v1/dunning_plans', payload: { key: 'x', name: 'X', steps: [{ after_hours: 5 }, { after_hours: 1 }], final_action: { subscription: 'cancel', invoice: 'leave_open' } } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe('steps');
    const unknown = await t.call({ method: 'POST', url: '/v1/dunning/segmentation', payload: { rules: [{ id: 'all', segment: 'all', plan: 'nope', match: 'all', conditions: [] }] } });
    expect(unknown.status).toBe(404);
    const seg = await t.ok({ method: 'GET', url: '/v1/dunning/segmentation' });
    expect(seg.rules.map((r: { id: string }) => r.id)).toEqual(['high_value', 'trial', 'standard']);
    expect(await t.testDb.db.tx((q) => seedDunning(q, t.clock.now()))).toEqual({ created: 0 });
  });

  it('reports recovery by count and amount, segment, step and channel, offers taken', async () => {
    const stats = await t.ok({ method: 'GET', url: '/v1/dunning/stats' });
    // Campaigns of this file: Ann (recovered by card update), Drop (active), Dee (recovered by the link),
    // Max (resolved: payment plan), Jörg (active).
    expect(stats).toMatchObject({ campaigns: 5, recovered: 2, active: 2, resolved: 1, exhausted: 0, recovery_rate: 0.4 });
    expect(stats.amount).toEqual([{ currency: 'usd', at_risk: 9700 * 4 + 500000, recovered: 9700 * 2, recovery_rate: 0.036 }]);
    expect(stats.by_segment).toEqual({ high_value: { campaigns: 1, recovered: 0, recovery_rate: 0 }, standard: { campaigns: 4, recovered: 2, recovery_rate: 0.5 } });
    expect(stats.by_channel).toEqual({ card_update: { recovered: 1, share: 0.5 }, email: { recovered: 1, share: 0.5 } });
    expect(stats.by_step).toEqual({ '3': { recovered: 1, share: 0.5 }, '4': { recovered: 1, share: 0.5 } });
    expect(stats.offers).toEqual({ discount: { offered: 1, taken: 1, take_rate: 1 }, payment_plan: { offered: 1, taken: 1, take_rate: 1 } });
    expect(typeof stats.median_time_to_recovery).toBe('number');
  });
});
