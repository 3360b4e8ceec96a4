import { available, thresholdsCrossed, usableLots, type Lot } from './lots.js';

// Planning a batch of usage events, without I/O: which events are new, duplicates or failures, what
// each costs, which lots pay for it (soonest-expiring first) and what is billed as overage. The
// service loads the state (under the wallets' locks), calls this, and writes the result set-based.

export type OverageMode = 'reject' | 'bill';

export interface UsageInput {
  id: string;
  customer: string;
  feature: string;
  quantity: number;
  /** null: "now" for the customer. */
  timestamp: Date | null;
  properties: Record<string, unknown> | null;
}

export interface StoredUsage {
  id: string;
  customer: string;
  feature: string;
  quantity: number;
  timestamp: Date;
  properties: Record<string, unknown> | null;
  credits: number;
  overage_credits: number;
  transaction: string | null;
  created: Date;
}

export interface CustomerState {
  /** The customer's "now": its test clock's frozen time, or the system clock. */
  now: Date;
  overage: OverageMode;
  thresholds: readonly number[];
  /** The wallet account, or null when the customer has never had credits. */
  wallet: string | null;
  lots: Lot[];
}

/** A feature's prices in credits per unit, oldest first. */
export type PriceSchedule = readonly { credits: number; effectiveAt: Date }[];

export interface UsageLimits {
  /** Events older than this (relative to the customer's now) are refused. */
  maxAgeMs: number;
  /** Events further in the future than this are refused (clock skew allowance). */
  maxFutureMs: number;
}

export interface UsageError {
  status: number;
  code: string;
  message: string;
  param?: string;
}

export type Outcome =
  | { status: 'accepted'; event: StoredUsage }
  | { status: 'duplicate'; event: StoredUsage }
  | { status: 'failed'; id: string; error: UsageError };

export interface CustomerPosting {
  customer: string;
  wallet: string | null;
  /** The transaction id and its idempotency key's basis (the first event it records). */
  transaction: string;
  firstEvent: string;
  takes: Map<string, number>;
  overage: number;
  consumed: number;
  before: number;
  after: number;
  crossed: number[];
  /** Events charged in this posting (for the overage invoice item's period). */
  from: Date;
  to: Date;
}

export interface BatchPlan {
  outcomes: Outcome[];
  accepted: StoredUsage[];
  postings: CustomerPosting[];
}

export function priceAt(schedule: PriceSchedule | undefined, at: Date): number | null {
  if (!schedule) return null;
  let price: number | null = null;
  for (const p of schedule) {
    if (p.effectiveAt.getTime() <= at.getTime()) price = p.credits;
    else break;
  }
  return price;
}

/** The same event sent again: identical customer, feature and quantity (and timestamp, when given). */
export function sameEvent(stored: Pick<StoredUsage, 'customer' | 'feature' | 'quantity' | 'timestamp'>, input: UsageInput): boolean {
  return (
    stored.customer === input.customer &&
    stored.feature === input.feature &&
    stored.quantity === input.quantity &&
    (input.timestamp === null || stored.timestamp.getTime() === input.timestamp.getTime())
  );
}

function sameInput(a: UsageInput, b: UsageInput): boolean {
  return (
    a.customer === b.customer &&
    a.feature === b.feature &&
    a.quantity === b.quantity &&
    (a.timestamp === null || b.timestamp === null || a.timestamp.getTime() === b.timestamp.getTime())
  );
}

const conflict = (id: string): UsageError => ({
  status: 409,
  code: 'idempotency_key_in_use',
  message: `A usage event with id '${id}' was already recorded with different parameters.`,
  param: 'id',
});

/**
 * Plans one batch. Events are taken in order; each is charged whole or not at all. In `reject` mode an
 * event the customer's credits cannot cover fails with `insufficient_credits` (later, smaller events
 * may still fit); in `bill` mode the uncovered part is overage, billed on the next invoice.
 * `newId` makes the ledger transaction ids (one per customer and batch).
 */
export function planUsageBatch(
  items: readonly UsageInput[],
  ctx: {
    customers: ReadonlyMap<string, CustomerState>;
    prices: ReadonlyMap<string, PriceSchedule>;
    existing: ReadonlyMap<string, StoredUsage>;
    limits: UsageLimits;
    created: Date;
    newId: () => string;
  },
): BatchPlan {
  const outcomes: Outcome[] = [];
  const accepted: StoredUsage[] = [];
  const postings = new Map<string, CustomerPosting & { lots: Lot[] }>();
  // Events seen in this batch: a repeat is a duplicate of the first, or a conflict.
  const seen = new Map<string, { input: UsageInput; outcome: Outcome }>();

  for (const input of items) {
    const prior = ctx.existing.get(input.id);
    if (prior) {
      outcomes.push(sameEvent(prior, input) ? { status: 'duplicate', event: prior } : { status: 'failed', id: input.id, error: conflict(input.id) });
      continue;
    }
    const again = seen.get(input.id);
    if (again) {
      // The same id twice in one batch: the second gets the first's answer (a duplicate of an
      // accepted event, the same failure otherwise), or a conflict when its parameters differ.
      const o = again.outcome;
      if (!sameInput(again.input, input)) outcomes.push({ status: 'failed', id: input.id, error: conflict(input.id) });
      else outcomes.push(o.status === 'accepted' ? { status: 'duplicate', event: o.event } : o);
      continue;
    }
    const outcome = planOne(input);
    seen.set(input.id, { input, outcome });
    outcomes.push(outcome);
  }

  function planOne(input: UsageInput): Outcome {
    const fail = (error: UsageError): Outcome => ({ status: 'failed', id: input.id, error });
    const customer = ctx.customers.get(input.customer);
    if (!customer) return fail({ status: 404, code: 'resource_missing', message: `No such customer: '${input.customer}'`, param: 'customer' });
    const schedule = ctx.prices.get(input.feature);
    if (!schedule) return fail({ status: 404, code: 'resource_missing', message: `No such feature: '${input.feature}'`, param: 'feature' });
    const at = input.timestamp ?? customer.now;
    const age = customer.now.getTime() - at.getTime();
    if (age > ctx.limits.maxAgeMs) {
      return fail({ status: 400, code: 'timestamp_too_old', message: `Usage events must be at most ${Math.round(ctx.limits.maxAgeMs / 86_400_000)} days old.`, param: 'timestamp' });
    }
    if (-age > ctx.limits.maxFutureMs) {
      return fail({ status: 400, code: 'timestamp_in_future', message: `Usage events may be at most ${Math.round(ctx.limits.maxFutureMs / 1000)} seconds in the future.`, param: 'timestamp' });
    }
    const unit = priceAt(schedule, at);
    if (unit === null) return fail({ status: 400, code: 'feature_not_priced', message: `The feature '${input.feature}' has no price in effect at the event's timestamp.`, param: 'feature' });
    const credits = unit * input.quantity;
    if (!Number.isSafeInteger(credits)) return fail({ status: 400, code: 'parameter_invalid', message: 'quantity is too large.', param: 'quantity' });

    let posting = postings.get(input.customer);
    if (!posting) {
      const lots = usableLots(customer.lots, customer.now).map((l) => ({ ...l }));
      const before = available(lots, customer.now);
      posting = {
        customer: input.customer,
        wallet: customer.wallet,
        transaction: ctx.newId(),
        firstEvent: input.id,
        takes: new Map(),
        overage: 0,
        consumed: 0,
        before,
        after: before,
        crossed: [],
        from: at,
        to: at,
        lots,
      };
    }
    // posting.after is what the customer's usable lots still hold (all of it is spendable).
    const shortfall = Math.max(0, credits - posting.after);
    if (shortfall > 0 && customer.overage === 'reject') {
      return fail({
        status: 402,
        code: 'insufficient_credits',
        message: `The customer has ${posting.after} credits available; this event costs ${credits}.`,
        param: 'quantity',
      });
    }
    if (!postings.has(input.customer)) postings.set(input.customer, posting);
    // Soonest-expiring lot first (posting.lots is in consumption order); no allocation per event.
    let need = credits - shortfall;
    for (const lot of posting.lots) {
      if (need === 0) break;
      const n = lot.remaining < need ? lot.remaining : need;
      if (n === 0) continue;
      lot.remaining -= n;
      posting.takes.set(lot.id, (posting.takes.get(lot.id) ?? 0) + n);
      need -= n;
    }
    posting.overage += shortfall;
    posting.consumed += credits;
    posting.after -= credits - shortfall;
    if (at < posting.from) posting.from = at;
    if (at > posting.to) posting.to = at;
    const event: StoredUsage = {
      id: input.id,
      customer: input.customer,
      feature: input.feature,
      quantity: input.quantity,
      timestamp: at,
      properties: input.properties,
      credits,
      overage_credits: shortfall,
      transaction: credits > 0 ? posting.transaction : null,
      created: ctx.created,
    };
    accepted.push(event);
    return { status: 'accepted', event };
  }

  const out: CustomerPosting[] = [];
  for (const p of postings.values()) {
    if (p.consumed === 0) continue;
    const customer = ctx.customers.get(p.customer)!;
    const { lots: _lots, ...rest } = p;
    out.push({ ...rest, crossed: thresholdsCrossed(p.before, p.after, customer.thresholds) });
  }
  return { outcomes, accepted, postings: out };
}
