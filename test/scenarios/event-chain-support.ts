import { eventsOf, type BillingApp } from './states-support.js';

/** JSON with sorted keys (events are stored as jsonb, which reorders keys). */
export function canon(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x));
}

/**
 * Checks that a subscription's customer.subscription.* events chain: each event with
 * previous_attributes names exactly the top-level fields that differ from the object of the event
 * before it, with that object's values, and the last event's object is the subscription as it is now.
 * Returns the problems found (empty when consistent).
 */
export async function chainProblems(t: BillingApp, subId: string): Promise<string[]> {
  const evs = (await eventsOf(t, subId)).filter((e) => e.type.startsWith('customer.subscription.') && e.type !== 'customer.subscription.trial_will_end');
  const problems: string[] = [];
  for (let i = 1; i < evs.length; i++) {
    const before = evs[i - 1]!.data.object;
    const after = evs[i]!.data.object;
    const prev = evs[i]!.data.previous_attributes ?? {};
    const changed = Object.keys(after).filter((k) => canon(before[k]) !== canon(after[k]));
    const named = Object.keys(prev);
    const missing = changed.filter((k) => !named.includes(k));
    const extra = named.filter((k) => !changed.includes(k));
    const wrong = named.filter((k) => changed.includes(k) && canon(prev[k]) !== canon(before[k]));
    if (missing.length || extra.length || wrong.length) {
      problems.push(`#${i} ${evs[i]!.type}: changed but not in previous_attributes ${JSON.stringify(missing)}; listed but unchanged ${JSON.stringify(extra)}; wrong old value ${JSON.stringify(wrong)}`);
    }
  }
  const now = (await t.call({ method: 'GET', url: `/v1/subscriptions/${subId}` })).body;
  const last = evs[evs.length - 1]!.data.object;
  const drift = Object.keys(now).filter((k) => canon(now[k]) !== canon(last[k]));
  if (drift.length) problems.push(`subscription differs from its last event's object in ${JSON.stringify(drift)} (changed without an event)`);
  return problems;
}
