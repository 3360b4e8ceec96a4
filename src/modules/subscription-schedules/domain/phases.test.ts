import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../../core/errors/index.js';
import { phaseAt, planPhases, sameItems, type PhaseInput, type PriceTerms } from './phases.js';

const u = (iso: string) => Date.parse(iso) / 1000;
const recurring = (interval: PriceTerms['interval'], intervalCount = 1, more: Partial<PriceTerms> = {}): PriceTerms => ({ type: 'recurring', active: true, interval, intervalCount, inCurrency: true, ...more });
const prices = new Map<string, PriceTerms>([
  ['monthly', recurring('month')],
  ['monthly_b', recurring('month')],
  ['quarterly', recurring('month', 3)],
  ['annual', recurring('year')],
  ['weekly', recurring('week')],
  ['course', { type: 'one_time', active: true, interval: null, intervalCount: null, inCurrency: true }],
  ['old', recurring('month', 1, { active: false })],
  ['eur', recurring('month', 1, { inCurrency: false })],
]);
const item = (price: string, quantity = 1) => ({ price, quantity });
const plan = (phases: PhaseInput[], start = '2026-01-31T10:00:00Z', first: Parameters<typeof planPhases>[1]['first'] = null) =>
  planPhases(phases, { start: new Date(start), first, prices, currency: 'usd' });
const dates = (ps: { start_date: number; end_date: number }[]) => ps.map((p) => [new Date(p.start_date * 1000).toISOString(), new Date(p.end_date * 1000).toISOString()]);
function refusal(fn: () => unknown): [string | undefined, string] {
  try {
    fn();
  } catch (e) {
    if (e instanceof InvalidRequestError) return [e.param, e.code];
    throw e;
  }
  throw new Error('no refusal');
}

describe('planPhases', () => {
  it("takes default_settings' billing_cycle_anchor for phases without their own: iterations count from a mid-period start", () => {
    const phases: PhaseInput[] = [{ items: [item('monthly')], end_date: u('2026-02-14T10:00:00Z') }, { items: [item('monthly_b')], iterations: 2 }];
    const anchored = planPhases(phases, { start: new Date('2026-01-31T10:00:00Z'), first: null, prices, currency: 'usd', defaultAnchor: 'phase_start' });
    expect(dates(anchored)[1]).toEqual(['2026-02-14T10:00:00.000Z', '2026-04-14T10:00:00.000Z']);
    // Shown as the phases gave it: null (the default), not the default's value.
    expect(anchored.map((p) => p.billing_cycle_anchor ?? null)).toEqual([null, null]);
    // A phase's own automatic wins: its iterations would count whole periods from inside one — refused.
    const own = [phases[0]!, { ...phases[1]!, billing_cycle_anchor: 'automatic' as const }];
    expect(refusal(() => planPhases(own, { start: new Date('2026-01-31T10:00:00Z'), first: null, prices, currency: 'usd', defaultAnchor: 'phase_start' }))).toEqual(['phases[1][iterations]', 'parameter_invalid']);
  });

  it('counts iterations on the anchor, clamping short months (Jan 31 → Mar 31 after two)', () => {
    const ps = plan([{ items: [item('monthly')], iterations: 2 }, { items: [item('monthly_b')] }]);
    expect(dates(ps)).toEqual([
      ['2026-01-31T10:00:00.000Z', '2026-03-31T10:00:00.000Z'],
      // The last phase without a length lasts one period: Mar 31 → Apr 30.
      ['2026-03-31T10:00:00.000Z', '2026-04-30T10:00:00.000Z'],
    ]);
    expect(ps[0]!.proration_behavior).toBe('create_prorations');
  });

  it('takes an end_date on a period boundary (Feb 28, the clamped one) or inside a period', () => {
    expect(dates(plan([{ items: [item('monthly')], end_date: u('2026-02-28T10:00:00Z') }, { items: [item('annual')], iterations: 1 }]))).toEqual([
      ['2026-01-31T10:00:00.000Z', '2026-02-28T10:00:00.000Z'],
      // Another interval starts its own cycle at the phase start.
      ['2026-02-28T10:00:00.000Z', '2027-02-28T10:00:00.000Z'],
    ]);
    // Inside a period: the next phase (same interval) starts mid-period, so its length is a date or a duration.
    expect(dates(plan([{ items: [item('monthly')], end_date: u('2026-02-15T00:00:00Z') }, { items: [item('monthly_b')], end_date: u('2026-03-31T10:00:00Z') }]))).toEqual([
      ['2026-01-31T10:00:00.000Z', '2026-02-15T00:00:00.000Z'],
      ['2026-02-15T00:00:00.000Z', '2026-03-31T10:00:00.000Z'],
    ]);
    expect(refusal(() => plan([{ items: [item('monthly')], end_date: u('2026-02-15T00:00:00Z') }, { items: [item('monthly_b')], iterations: 1 }]))).toEqual(['phases[1][iterations]', 'parameter_invalid']);
    expect(refusal(() => plan([{ items: [item('monthly')], end_date: u('2026-02-15T00:00:00Z') }, { items: [item('monthly_b')] }]))).toEqual(['phases[1][end_date]', 'parameter_missing']);
    expect(refusal(() => plan([{ items: [item('monthly')], end_date: u('2026-01-31T10:00:00Z') }]))).toEqual(['phases[0][end_date]', 'parameter_invalid']);
  });

  it('takes a duration from the phase start, on a boundary or not', () => {
    expect(dates(plan([{ items: [item('monthly')], duration: { interval: 'month', interval_count: 3 } }]))).toEqual([['2026-01-31T10:00:00.000Z', '2026-04-30T10:00:00.000Z']]);
    expect(dates(plan([{ items: [item('quarterly')], duration: { interval: 'year' } }]))).toEqual([['2026-01-31T10:00:00.000Z', '2027-01-31T10:00:00.000Z']]);
    expect(dates(plan([{ items: [item('annual')], duration: { interval: 'month' } }]))).toEqual([['2026-01-31T10:00:00.000Z', '2026-02-28T10:00:00.000Z']]);
  });

  it("continues a subscription's cycle in the first phase, a stub included", () => {
    // Anchor Mar 15; the subscription's stub [Mar 1, Mar 15) counts as the first of two iterations.
    const first = { anchor: new Date('2026-03-15T00:00:00Z'), interval: 'month' as const, intervalCount: 1 };
    expect(dates(plan([{ items: [item('monthly')], iterations: 2 }, { items: [item('weekly')], iterations: 2 }], '2026-03-01T00:00:00Z', first))).toEqual([
      ['2026-03-01T00:00:00.000Z', '2026-04-15T00:00:00.000Z'],
      ['2026-04-15T00:00:00.000Z', '2026-04-29T00:00:00.000Z'],
    ]);
  });

  it('refuses what it cannot bill, naming the entry', () => {
    const last = (price: string) => [{ items: [item('monthly')], iterations: 1 }, { items: [item(price)] }];
    expect(refusal(() => plan(last('course')))).toEqual(['phases[1][items][0][price]', 'parameter_invalid']);
    expect(refusal(() => plan(last('old')))).toEqual(['phases[1][items][0][price]', 'parameter_invalid']);
    expect(refusal(() => plan(last('eur')))).toEqual(['phases[1][items][0][price]', 'parameter_invalid']);
    expect(refusal(() => plan([{ items: [item('monthly'), item('annual')] }]))).toEqual(['phases[0][items][1][price]', 'parameter_invalid']);
    expect(refusal(() => plan([{ items: [item('monthly'), item('monthly', 2)] }]))).toEqual(['phases[0][items][1][price]', 'duplicate_price']);
    const own = new Map([...prices, ['theirs', recurring('month', 1, { customer: 'cus_other' })]]);
    expect(refusal(() => planPhases([{ items: [item('theirs')] }], { start: new Date('2026-01-31T10:00:00Z'), first: null, prices: own, currency: 'usd', customer: 'cus_me' }))).toEqual(['phases[0][items][0][price]', 'price_customer_mismatch']);
    expect(refusal(() => plan([{ items: [item('monthly')] }, { items: [item('monthly')] }]))).toEqual(['phases[0][end_date]', 'parameter_missing']);
    expect(refusal(() => plan([{ items: [item('monthly')], iterations: 1, end_date: u('2026-02-28T10:00:00Z') }]))).toEqual(['phases[0][end_date]', 'parameter_invalid']);
    expect(refusal(() => plan([{ items: [item('monthly')], iterations: 1 }, { items: [item('monthly')], start_date: u('2026-03-01T00:00:00Z') }]))).toEqual(['phases[1][start_date]', 'parameter_invalid']);
    expect(refusal(() => plan([]))).toEqual(['phases', 'parameter_missing']);
  });
});

describe('phaseAt and sameItems', () => {
  const ps = plan([{ items: [item('monthly')], iterations: 1 }, { items: [item('monthly_b', 2)] }]);
  it('finds the phase in force, half-open', () => {
    expect(phaseAt(ps, new Date('2026-01-31T10:00:00Z'))?.index).toBe(0);
    expect(phaseAt(ps, new Date('2026-02-28T10:00:00Z'))?.index).toBe(1);
    expect(phaseAt(ps, new Date('2026-03-31T10:00:00Z'))).toBeNull();
  });
  it('compares items as a multiset of price × quantity', () => {
    expect(sameItems([item('a'), item('b', 2)], [item('b', 2), item('a')])).toBe(true);
    expect(sameItems([item('a')], [item('a', 2)])).toBe(false);
  });
});
