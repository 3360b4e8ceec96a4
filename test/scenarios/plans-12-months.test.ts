import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { get, invTuple, iso, lineTuple, subscribe, type BillingApp } from './support.js';

// Every seeded recurring plan, paid by card, over 12 months on one test clock. The clock starts on
// the 15th at 12:00 UTC, so no month clamps and every boundary is "the 15th at 12:00".

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

/** "2026-01-15T12:00:00Z" shifted by `months` (month arithmetic by hand: no clamping on the 15th). */
function fifteenth(months: number): string {
  const y = 2026 + Math.floor(months / 12);
  const m = (months % 12) + 1;
  return `${y}-${String(m).padStart(2, '0')}-15T12:00:00Z`;
}

interface Plan {
  lookupKey: string;
  amount: number;
  /** Months per period. */
  every: number;
  description: string;
}

const PLANS: Plan[] = [
  { lookupKey: 'elite_monthly', amount: 500_000, every: 1, description: '1 × Elite 1:1 Coaching (at $5,000.00 / month)' },
  // Annual Elite: 12 × 5,000.00 less 10 % = 54,000.00 → 5,400,000 cents.
  { lookupKey: 'elite_annual', amount: 5_400_000, every: 12, description: '1 × Elite 1:1 Coaching (at $54,000.00 / year)' },
  { lookupKey: 'group_monthly', amount: 150_000, every: 1, description: '1 × Group Coaching Programs (at $1,500.00 / month)' },
  { lookupKey: 'group_quarterly', amount: 420_000, every: 3, description: '1 × Group Coaching Programs (at $4,200.00 every 3 months)' },
  { lookupKey: 'community_monthly', amount: 9_700, every: 1, description: '1 × Community Access (at $97.00 / month)' },
  { lookupKey: 'community_annual', amount: 97_000, every: 12, description: '1 × Community Access (at $970.00 / year)' },
  { lookupKey: 'platform_starter_monthly', amount: 4_900, every: 1, description: '1 × Platform Starter (at $49.00 / month)' },
  { lookupKey: 'platform_professional_monthly', amount: 14_900, every: 1, description: '1 × Platform Professional (at $149.00 / month)' },
  { lookupKey: 'platform_enterprise_monthly', amount: 39_900, every: 1, description: '1 × Platform Enterprise (at $399.00 / month)' },
];

describe('every seeded plan over 12 months', () => {
  it('bills each period once, at the plan amount, with exact periods, and charges every invoice', async () => {
    const clock = await t.clockAt('2026-01-15T12:00:00Z');
    const subs: { plan: Plan; id: string; customer: string }[] = [];
    for (const plan of PLANS) {
      const customer = await t.customer({ clock, card: 'pm_card_visa', email: `${plan.lookupKey}@example.com` });
      // trial_end=now: each plan's default trial is covered below, over its own 12 months.
      const sub = await subscribe(t, { customer, items: [{ price: await t.priceId(plan.lookupKey) }], trial_end: 'now' });
      expect(sub.status).toBe('active');
      subs.push({ plan, id: sub.id, customer });
    }

    // 12 months and 2 hours: the renewal at month 12 is created at 12:00, finalized at 13:00 (the
    // helper's one-hour finalize delay) and paid at once.
    await t.advance(clock, '2027-01-15T14:00:00Z');

    for (const { plan, id, customer } of subs) {
      const invs = await t.invoices(id);
      // Months 0..12 inclusive: 13 monthly invoices, 5 quarterly (0, 3, 6, 9, 12), 2 annual (0, 12).
      const starts = Array.from({ length: 12 / plan.every + 1 }, (_, k) => k * plan.every);
      expect(
        invs.map(invTuple),
        plan.lookupKey,
      ).toEqual(starts.map((m, k) => ['paid', plan.amount, plan.amount, fifteenth(m), fifteenth(m + plan.every), k === 0 ? 'subscription_create' : 'subscription_cycle']));
      for (const [k, inv] of invs.entries()) {
        const m = starts[k]!;
        expect(inv.lines.data.map(lineTuple), `${plan.lookupKey} #${k}`).toEqual([[plan.description, plan.amount, fifteenth(m), fifteenth(m + plan.every), false]]);
        expect(inv.number).toMatch(/^RECUR-\d{4}$/);
      }
      // One successful payment intent per invoice, for the invoice amount; no failures.
      const pis = (await get(t, `/v1/payment_intents?customer=${customer}&limit=100`)).data as { status: string; amount: number }[];
      expect(pis.map((p) => [p.status, p.amount])).toEqual(starts.map(() => ['succeeded', plan.amount]));

      const sub = await t.sub(id);
      expect([sub.status, iso(sub.current_period_start), iso(sub.current_period_end)]).toEqual(['active', fifteenth(12), fifteenth(12 + plan.every)]);
    }

    // The first 12 months of Elite: 12 × 500,000 = 6,000,000 monthly vs 5,400,000 annual (10 % off).
    const firstYear = async (lookupKey: string) => {
      const s = subs.find((x) => x.plan.lookupKey === lookupKey)!;
      return (await t.invoices(s.id)).filter((i) => i.period_start < Date.parse('2027-01-15T12:00:00Z') / 1000).reduce((a, i) => a + i.amount_paid, 0);
    };
    expect(await firstYear('elite_monthly')).toBe(6_000_000);
    expect(await firstYear('elite_annual')).toBe(5_400_000);
    // Quarterly Group: 4 × 420,000 = 1,680,000 vs 12 × 150,000 = 1,800,000 monthly.
    expect(await firstYear('group_quarterly')).toBe(1_680_000);
    expect(await firstYear('group_monthly')).toBe(1_800_000);
  });
});

describe('every plan with a default trial, over 12 months from the start of its trial', () => {
  it('starts with the trial ($0), then bills from the trial end, anchored there', async () => {
    // Trials (seed): Elite 7 days, Group 14, Community 30. Start Jan 1 2026 00:00, look at Jan 1 2027 00:00.
    const clock = await t.clockAt('2026-01-01T00:00:00Z');
    const expected: Record<string, { trialEnd: string; paidStarts: string[]; amount: number }> = {
      elite_monthly: {
        trialEnd: '2026-01-08T00:00:00Z',
        paidStarts: ['01', '02', '03', '04', '05', '06', '07', '08', '09', '10', '11', '12'].map((m) => `2026-${m}-08T00:00:00Z`),
        amount: 500_000,
      },
      elite_annual: { trialEnd: '2026-01-08T00:00:00Z', paidStarts: ['2026-01-08T00:00:00Z'], amount: 5_400_000 },
      group_monthly: {
        trialEnd: '2026-01-15T00:00:00Z',
        paidStarts: ['01', '02', '03', '04', '05', '06', '07', '08', '09', '10', '11', '12'].map((m) => `2026-${m}-15T00:00:00Z`),
        amount: 150_000,
      },
      group_quarterly: { trialEnd: '2026-01-15T00:00:00Z', paidStarts: ['01', '04', '07', '10'].map((m) => `2026-${m}-15T00:00:00Z`), amount: 420_000 },
      // Anchored on Jan 31: clamped to the end of shorter months, back to the 31st when it exists.
      community_monthly: {
        trialEnd: '2026-01-31T00:00:00Z',
        paidStarts: ['01-31', '02-28', '03-31', '04-30', '05-31', '06-30', '07-31', '08-31', '09-30', '10-31', '11-30', '12-31'].map((d) => `2026-${d}T00:00:00Z`),
        amount: 9_700,
      },
      community_annual: { trialEnd: '2026-01-31T00:00:00Z', paidStarts: ['2026-01-31T00:00:00Z'], amount: 97_000 },
    };
    const subs: { key: string; id: string }[] = [];
    for (const key of Object.keys(expected)) {
      const customer = await t.customer({ clock, card: 'pm_card_visa', email: `trial-${key}@example.com` });
      const sub = await subscribe(t, { customer, items: [{ price: await t.priceId(key) }] });
      expect([key, sub.status, iso(sub.trial_end)]).toEqual([key, 'trialing', expected[key]!.trialEnd]);
      subs.push({ key, id: sub.id });
    }
    await t.advance(clock, '2027-01-01T00:00:00Z');
    for (const { key, id } of subs) {
      const e = expected[key]!;
      const invs = await t.invoices(id);
      expect(invTuple(invs[0]!), key).toEqual(['paid', 0, 0, '2026-01-01T00:00:00Z', e.trialEnd, 'subscription_create']);
      const paid = invs.slice(1);
      expect(
        paid.map((i) => [i.status, i.total, i.amount_paid, iso(i.period_start)]),
        key,
      ).toEqual(e.paidStarts.map((start) => ['paid', e.amount, e.amount, start]));
    }
  }, 120_000);
});
