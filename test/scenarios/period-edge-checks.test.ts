import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { events, get, invTuple, iso, lineTuple, subscribe, unix, update, advanceTo, recurringPrice, type BillingApp } from './support.js';

// Audit: edge cases of billing periods against Stripe's documented behaviour.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

describe('trial followed by a later anchor: upcoming during the trial', () => {
  it('upcoming is the prorated stub [trial end, anchor), charged at the trial end', async () => {
    const clock = await t.clockAt('2026-01-10T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_period_days: 5, billing_cycle_anchor: unix('2026-02-01T00:00:00Z') });
    expect([iso(sub.current_period_end), iso(sub.billing_cycle_anchor)]).toEqual(['2026-01-15T00:00:00Z', '2026-02-01T00:00:00Z']);
    const up = await get(t, `/v1/invoices/upcoming?subscription=${sub.id}`);
    // As anchors.test.ts: 9,700 × 17 d / 31 d = 5,319.35… → 5,319.
    expect([up.total, iso(up.next_payment_attempt)]).toEqual([5319, '2026-01-15T00:00:00Z']);
    expect(up.lines.data.map((l: { amount: number; period: { start: number; end: number } }) => [l.amount, iso(l.period.start), iso(l.period.end)])).toEqual([[5319, '2026-01-15T00:00:00Z', '2026-02-01T00:00:00Z']]);
  });

  it('with proration_behavior=none the stub is free: upcoming is the full period at the anchor', async () => {
    const clock = await t.clockAt('2026-01-10T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, {
      customer,
      items: [{ price: await t.priceId('community_monthly') }],
      trial_period_days: 5,
      billing_cycle_anchor: unix('2026-02-01T00:00:00Z'),
      proration_behavior: 'none',
    });
    const up = await get(t, `/v1/invoices/upcoming?subscription=${sub.id}`);
    expect([up.total, iso(up.next_payment_attempt)]).toEqual([9700, '2026-02-01T00:00:00Z']);
    expect(up.lines.data.map(lineTuple)).toEqual([['1 × Community Access (at $97.00 / month)', 9700, '2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z', false]]);
    await advanceTo(t, clock, '2026-01-15T01:00:00Z');
    const mid = await t.sub(sub.id);
    expect([mid.status, iso(mid.current_period_start), iso(mid.current_period_end)]).toEqual(['active', '2026-01-15T00:00:00Z', '2026-02-01T00:00:00Z']);
    const up2 = await get(t, `/v1/invoices/upcoming?subscription=${sub.id}`);
    expect([up2.total, iso(up2.next_payment_attempt)]).toEqual([9700, '2026-02-01T00:00:00Z']);
    await advanceTo(t, clock, '2026-02-01T02:00:00Z');
    const invs = await t.invoices(sub.id);
    expect(invs.map((i) => [i.total, iso(i.period_start), iso(i.period_end)])).toEqual([
      [0, '2026-01-10T00:00:00Z', '2026-01-15T00:00:00Z'],
      [9700, '2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z'],
    ]);
  });
});

describe('trial changes', () => {
  it('a trial shorter than 3 days still sends trial_will_end once, before it ends', async () => {
    const clock = await t.clockAt('2026-01-10T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_period_days: 2 });
    await advanceTo(t, clock, '2026-01-10T00:00:01Z');
    const notices = await events(t, customer, 'customer.subscription.trial_will_end');
    expect(notices).toHaveLength(1);
    await advanceTo(t, clock, '2026-01-12T01:00:00Z');
    expect(await events(t, customer, 'customer.subscription.trial_will_end')).toHaveLength(1);
  });

  it('extending a trial moves the period end and the anchor to the new trial end, and re-arms trial_will_end', async () => {
    const clock = await t.clockAt('2026-01-10T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_period_days: 7 });
    await advanceTo(t, clock, '2026-01-15T00:00:00Z');
    expect(await events(t, customer, 'customer.subscription.trial_will_end')).toHaveLength(1);
    const ext = await update(t, sub.id, { trial_end: unix('2026-01-31T00:00:00Z') });
    expect([ext.status, iso(ext.trial_end), iso(ext.current_period_end), iso(ext.billing_cycle_anchor)]).toEqual(['trialing', '2026-01-31T00:00:00Z', '2026-01-31T00:00:00Z', '2026-01-31T00:00:00Z']);
    await advanceTo(t, clock, '2026-01-28T00:00:01Z');
    expect(await events(t, customer, 'customer.subscription.trial_will_end')).toHaveLength(2);
    await t.advance(clock, '2026-03-01T00:00:00Z');
    const invs = await t.invoices(sub.id);
    expect(invs.map((i) => [i.total, iso(i.period_start), iso(i.period_end), i.billing_reason])).toEqual([
      [0, '2026-01-10T00:00:00Z', '2026-01-17T00:00:00Z', 'subscription_create'],
      [9700, '2026-01-31T00:00:00Z', '2026-02-28T00:00:00Z', 'subscription_cycle'],
      [9700, '2026-02-28T00:00:00Z', '2026-03-31T00:00:00Z', 'subscription_cycle'],
    ]);
  });

  it("quarterly price with its default trial (trial_from_plan): 14 days, then [trial end, +3 months)", async () => {
    const clock = await t.clockAt('2026-11-16T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('group_quarterly') }], trial_from_plan: true });
    expect(iso(sub.trial_end)).toBe('2026-11-30T00:00:00Z');
    await t.advance(clock, '2026-11-30T01:00:00Z');
    const after = await t.sub(sub.id);
    expect([after.status, iso(after.current_period_start), iso(after.current_period_end)]).toEqual(['active', '2026-11-30T00:00:00Z', '2027-02-28T00:00:00Z']);
    const invs = await t.invoices(sub.id);
    expect(invTuple(invs[1]!)).toEqual(['paid', 420_000, 420_000, '2026-11-30T00:00:00Z', '2027-02-28T00:00:00Z', 'subscription_cycle']);
  });
});

describe('future anchor, other intervals', () => {
  it('weekly: created Friday Jan 16, anchored Monday Jan 19 → 3/7 stub, then every Monday', async () => {
    const p = await recurringPrice(t, { interval: 'week' }, 1000);
    const clock = await t.clockAt('2026-01-16T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: p }], billing_cycle_anchor: unix('2026-01-19T00:00:00Z') });
    await advanceTo(t, clock, '2026-01-19T01:00:00Z');
    await advanceTo(t, clock, '2026-01-26T01:00:00Z');
    // 1,000 × 3 / 7 = 428.57 → 429.
    expect((await t.invoices(sub.id)).map(invTuple)).toEqual([
      ['paid', 429, 429, '2026-01-16T00:00:00Z', '2026-01-19T00:00:00Z', 'subscription_create'],
      ['paid', 1000, 1000, '2026-01-19T00:00:00Z', '2026-01-26T00:00:00Z', 'subscription_cycle'],
      ['paid', 1000, 1000, '2026-01-26T00:00:00Z', '2026-02-02T00:00:00Z', 'subscription_cycle'],
    ]);
  });

  it('rejects an anchor in the past (Stripe: the anchor must be in the future)', async () => {
    const clock = await t.clockAt('2026-01-16T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const res = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', billing_cycle_anchor: unix('2026-01-10T00:00:00Z') } });
    expect([res.status, res.body.error?.param]).toEqual([400, 'billing_cycle_anchor']);
  });
});

describe('billing_cycle_anchor=now and renewal drafts', () => {
  it('billing_cycle_anchor=now restarts the period now; the new line covers [now, now + 1 month)', async () => {
    const clock = await t.clockAt('2026-01-31T10:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    await advanceTo(t, clock, '2026-02-10T10:00:00Z');
    const upd = await update(t, sub.id, { billing_cycle_anchor: 'now', proration_behavior: 'create_prorations' });
    expect([iso(upd.billing_cycle_anchor), iso(upd.current_period_start), iso(upd.current_period_end)]).toEqual(['2026-02-10T10:00:00Z', '2026-02-10T10:00:00Z', '2026-03-10T10:00:00Z']);
    const invs = await t.invoices(sub.id);
    const last = invs[invs.length - 1]!;
    expect(last.billing_reason).toBe('subscription_update');
    const full = last.lines.data.find((l) => !l.proration)!;
    expect([full.amount, iso(full.period.start), iso(full.period.end)]).toEqual([9700, '2026-02-10T10:00:00Z', '2026-03-10T10:00:00Z']);
    const credit = last.lines.data.find((l) => l.proration)!;
    // Unused time [Feb 10 10:00, Feb 28 10:00) of [Jan 31, Feb 28) = 18 / 28: −9,700 × 18 / 28 = −6,235.7 → −6,236.
    expect([credit.amount, iso(credit.period.start), iso(credit.period.end)]).toEqual([-6236, '2026-02-10T10:00:00Z', '2026-02-28T10:00:00Z']);
  });

  it('a renewal draft (before finalization) has next_payment_attempt ≈ 1 hour after creation (Stripe), and period lines of the new period', async () => {
    const clock = await t.clockAt('2026-01-31T10:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    await advanceTo(t, clock, '2026-02-28T10:00:00Z');
    const invs = await t.invoices(sub.id);
    const draft = invs[invs.length - 1]!;
    expect([draft.status, draft.billing_reason]).toEqual(['draft', 'subscription_cycle']);
    expect(draft.lines.data.map((l) => [iso(l.period.start), iso(l.period.end)])).toEqual([['2026-02-28T10:00:00Z', '2026-03-31T10:00:00Z']]);
    const full = await get(t, `/v1/invoices/${draft.id}`);
    expect(full.next_payment_attempt).not.toBeNull();
    expect(iso(full.next_payment_attempt)).toBe('2026-02-28T11:00:00Z');
  });
});

describe('send_invoice subscriptions', () => {
  it('upcoming and renewal invoices of a send_invoice subscription have next_payment_attempt null (Stripe: null when collection_method=send_invoice)', async () => {
    const clock = await t.clockAt('2026-01-31T10:00:00Z');
    const customer = await t.customer({ clock });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', collection_method: 'send_invoice', days_until_due: 30 });
    const up = await get(t, `/v1/invoices/upcoming?subscription=${sub.id}`);
    expect([up.total, up.next_payment_attempt]).toEqual([9700, null]);
    expect(up.lines.data.map((l: { period: { start: number; end: number } }) => [iso(l.period.start), iso(l.period.end)])).toEqual([['2026-02-28T10:00:00Z', '2026-03-31T10:00:00Z']]);
    await advanceTo(t, clock, '2026-02-28T12:00:00Z');
    const invs = await t.invoices(sub.id);
    const last = await get(t, `/v1/invoices/${invs[invs.length - 1]!.id}`);
    expect([last.status, last.next_payment_attempt, iso(last.due_date)]).toEqual(['open', null, '2026-03-30T10:00:00Z']);
  });
});

describe('ending a trial early that leads into a fixed anchor', () => {
  it('trial_end=now with billing_cycle_anchor=unchanged keeps the Feb 1 anchor (Stripe: unchanged keeps the anchor) and prorates to it', async () => {
    const clock = await t.clockAt('2026-01-10T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_period_days: 10, billing_cycle_anchor: unix('2026-02-01T00:00:00Z') });
    await advanceTo(t, clock, '2026-01-13T00:00:00Z');
    const res = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.id}`, payload: { trial_end: 'now', billing_cycle_anchor: 'unchanged' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect([res.body.status, iso(res.body.billing_cycle_anchor), iso(res.body.current_period_start), iso(res.body.current_period_end)]).toEqual([
      'active',
      '2026-02-01T00:00:00Z',
      '2026-01-13T00:00:00Z',
      '2026-02-01T00:00:00Z',
    ]);
    // The stub [Jan 13, Feb 1) of January's 31 days, invoiced and paid now: 9,700 × 19/31 = 5,945.
    const inv = (await t.call({ method: 'GET', url: `/v1/invoices/${res.body.latest_invoice}` })).body;
    expect([inv.status, inv.billing_reason, inv.amount_paid, inv.lines.data.map((l: { amount: number; proration: boolean }) => [l.amount, l.proration])]).toEqual([
      'paid',
      'subscription_update',
      5_945,
      [[5_945, true]],
    ]);
  });

  it('with proration_behavior=none the stretch to the kept anchor is free, and without unchanged the anchor moves to now', async () => {
    const clock = await t.clockAt('2026-01-10T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const price = await t.priceId('community_monthly');
    const a = await subscribe(t, { customer, items: [{ price }], trial_period_days: 10, billing_cycle_anchor: unix('2026-02-01T00:00:00Z') });
    const b = await subscribe(t, { customer, items: [{ price }], trial_period_days: 10, billing_cycle_anchor: unix('2026-02-01T00:00:00Z') });
    await advanceTo(t, clock, '2026-01-13T00:00:00Z');
    const free = await t.call({ method: 'POST', url: `/v1/subscriptions/${a.id}`, payload: { trial_end: 'now', billing_cycle_anchor: 'unchanged', proration_behavior: 'none' } });
    expect([free.status, free.body.status, iso(free.body.billing_cycle_anchor), iso(free.body.current_period_end), free.body.latest_invoice === a.latest_invoice]).toEqual([
      200,
      'active',
      '2026-02-01T00:00:00Z',
      '2026-02-01T00:00:00Z',
      true,
    ]);
    const reset = await t.call({ method: 'POST', url: `/v1/subscriptions/${b.id}`, payload: { trial_end: 'now' } });
    expect([reset.body.status, iso(reset.body.billing_cycle_anchor), iso(reset.body.current_period_end)]).toEqual(['active', '2026-01-13T00:00:00Z', '2026-02-13T00:00:00Z']);
  });
});
