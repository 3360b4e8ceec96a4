import { allocate } from '../../../core/money/index.js';
import { outOfQuietHours, type QuietHours } from './quiet-hours.js';

// Dunning plans and segmentation rules are data. These are their shapes, the seeded defaults (from
// the product brief's table) and the pure functions that read them: which segment a customer falls
// in, when each step is due, how a payment plan splits an amount.

export type OfferSpec =
  | { kind: 'discount'; percent_off: number; duration: 'once' | 'repeating'; duration_in_months?: number }
  | { kind: 'trial_extension'; days: number }
  | { kind: 'payment_plan'; installments: number; interval_days: number };

export interface PlanStep {
  /** Hours after the first failure. */
  after_hours: number;
  /** Retry the payment at this step (skipped while the campaign waits for a new payment method). */
  retry: boolean;
  /** Email template key, sent when the retry fails (or is skipped). */
  email: string | null;
  /** SMS template key. */
  sms: string | null;
  /** A phone task for staff, with script hints. */
  phone_task: { script: string[] } | null;
  offer: OfferSpec | null;
  /** Email the owner with the campaign's context. */
  escalate: boolean;
}

export interface FinalAction {
  subscription: 'cancel' | 'mark_unpaid' | 'leave_past_due';
  invoice: 'mark_uncollectible' | 'leave_open';
  /** Hours after the last step fails before the final action runs (a last chance to take an offer). */
  grace_hours: number;
}

export interface PlanData {
  key: string;
  name: string;
  description: string;
  steps: PlanStep[];
  final_action: FinalAction;
  quiet_hours: QuietHours | null;
}

const step = (after_hours: number, s: Partial<PlanStep> = {}): PlanStep => ({
  after_hours,
  retry: true,
  email: 'dunning_reminder',
  sms: null,
  phone_task: null,
  offer: null,
  escalate: false,
  ...s,
});

const QUIET: QuietHours = { start: '21:00', end: '08:00' };
const CALL = (...script: string[]) => ({ script });

export const SEED_PLANS: readonly PlanData[] = [
  {
    key: 'standard',
    name: 'Standard',
    description: 'Five retries over two weeks with email and SMS; a discount at steps 4 and 5.',
    steps: [
      step(1),
      step(24),
      step(72, { sms: 'dunning_sms' }),
      step(168, { sms: 'dunning_sms', offer: { kind: 'discount', percent_off: 20, duration: 'once' } }),
      step(336, { offer: { kind: 'discount', percent_off: 30, duration: 'repeating', duration_in_months: 3 } }),
    ],
    final_action: { subscription: 'cancel', invoice: 'mark_uncollectible', grace_hours: 72 },
    quiet_hours: QUIET,
  },
  {
    key: 'high_value',
    name: 'High value',
    description: 'Eight retries over three weeks; a person calls, offers a payment plan and escalates to the owner.',
    steps: [
      step(0.5, { email: null, phone_task: CALL('Personal outreach: introduce yourself as their account contact.', 'Their card payment failed; ask whether the card changed or expired.', 'Offer to send a secure link to update the card.') }),
      step(2),
      step(12, { email: null, sms: 'dunning_sms' }),
      step(48, { phone_task: CALL('Follow up on the failed payment.', 'If cash flow is the problem, offer the payment plan (3 monthly installments).'), offer: { kind: 'payment_plan', installments: 3, interval_days: 30 } }),
      step(96),
      step(168, { phone_task: CALL('Last personal call before the owner steps in.', 'Confirm the customer wants to continue the programme.'), escalate: true }),
      step(240, { sms: 'dunning_sms' }),
      step(504),
    ],
    final_action: { subscription: 'mark_unpaid', invoice: 'leave_open', grace_hours: 0 },
    quiet_hours: QUIET,
  },
  {
    key: 'trial',
    name: 'Trial',
    description: 'Three retries over three days for the first payment after a trial; onboarding help and a trial extension.',
    steps: [step(2, { email: 'dunning_trial_onboarding' }), step(24, { offer: { kind: 'trial_extension', days: 7 } }), step(72)],
    final_action: { subscription: 'cancel', invoice: 'mark_uncollectible', grace_hours: 0 },
    quiet_hours: QUIET,
  },
];

// ---------- segmentation ----------

export type Condition =
  /** Minor units per currency: the customer matches in the currencies listed only. */
  | { metric: 'mrr' | 'lifetime_paid'; gte: Record<string, number> }
  | { first_invoice_after_trial: true };

export interface SegmentRule {
  id: string;
  segment: string;
  /** The dunning plan (its key) this segment runs. */
  plan: string;
  /** `any`: one condition is enough; `all`: every one (no condition: always matches). */
  match: 'any' | 'all';
  conditions: Condition[];
}

export const DEFAULT_SEGMENT_RULES: readonly SegmentRule[] = [
  {
    id: 'high_value',
    segment: 'high_value',
    plan: 'high_value',
    match: 'any',
    conditions: [
      { metric: 'mrr', gte: { usd: 150_000 } },
      { metric: 'lifetime_paid', gte: { usd: 1_000_000 } },
    ],
  },
  { id: 'trial', segment: 'trial', plan: 'trial', match: 'all', conditions: [{ first_invoice_after_trial: true }] },
  { id: 'standard', segment: 'standard', plan: 'standard', match: 'all', conditions: [] },
];

export interface CustomerFacts {
  currency: string;
  /** Monthly recurring revenue of the customer's live subscriptions, minor units of `currency`. */
  mrr: number;
  /** Everything the customer has paid in `currency`, minor units. */
  lifetime_paid: number;
  first_invoice_after_trial: boolean;
}

function holds(c: Condition, f: CustomerFacts): boolean {
  if ('first_invoice_after_trial' in c) return f.first_invoice_after_trial;
  const threshold = c.gte[f.currency];
  return threshold !== undefined && f[c.metric] >= threshold;
}

/** The first rule that matches, in order; null when none does (the caller falls back to standard). */
export function chooseSegment(rules: readonly SegmentRule[], facts: CustomerFacts): { rule: SegmentRule; matched: Condition[] } | null {
  for (const rule of rules) {
    const matched = rule.conditions.filter((c) => holds(c, facts));
    const ok = rule.match === 'any' ? rule.conditions.length === 0 || matched.length > 0 : matched.length === rule.conditions.length;
    if (ok) return { rule, matched };
  }
  return null;
}

// ---------- schedule ----------

/** Whether a step touches the customer or their bank in a way quiet hours protect (retry, SMS, call). */
export function respectsQuietHours(s: PlanStep): boolean {
  return s.retry || s.sms !== null || s.phone_task !== null;
}

/** When a step is due: its offset from the first failure, moved out of quiet hours when it must be. */
export function stepDueAt(firstFailedAt: Date, s: PlanStep, quiet: QuietHours | null, timezone: string): Date {
  const at = new Date(firstFailedAt.getTime() + Math.round(s.after_hours * 3_600_000));
  return respectsQuietHours(s) ? outOfQuietHours(at, quiet, timezone) : at;
}

/** A payment plan: the amount in `n` installments (summing exactly to it), every `intervalDays` from `start`. */
export function installments(amount: number, n: number, start: Date, intervalDays: number): { amount: number; due: Date }[] {
  return allocate(amount, Array.from({ length: n }, () => 1)).map((a, i) => ({ amount: a, due: new Date(start.getTime() + i * intervalDays * 86_400_000) }));
}

/** The offer as one sentence for messages and the payment page. */
export function describeOffer(o: OfferSpec, formatAmount: (minor: number) => string, amount: number): string {
  if (o.kind === 'discount') {
    return o.duration === 'once' ? `Take ${o.percent_off}% off your next invoice.` : `Take ${o.percent_off}% off for the next ${o.duration_in_months} months.`;
  }
  if (o.kind === 'trial_extension') return `Not ready yet? Extend your trial by ${o.days} days, once, free of charge.`;
  const parts = installments(amount, o.installments, new Date(0), o.interval_days);
  return `Split the ${formatAmount(amount)} into ${o.installments} payments of about ${formatAmount(parts[0]!.amount)}, ${o.interval_days} days apart.`;
}
