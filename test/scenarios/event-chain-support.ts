import { eventsOf, type BillingApp } from './states-support.js';

/** JSON with sorted keys (events are stored as jsonb, which reorders keys). */
export function canon(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x));
}

const isHash = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The old value rebuilt from the new one and its previous_attributes entry: Stripe shows a hash
 * changed in place by its changed keys only (null: a key it did not have), an array or scalar whole.
 */
function withPrevious(after: unknown, prev: unknown): unknown {
  if (!isHash(after) || !isHash(prev)) return prev;
  const out: Record<string, unknown> = { ...after };
  for (const [k, v] of Object.entries(prev)) out[k] = withPrevious(after[k], v);
  return out;
}

/** canon() with null-valued keys of hashes left out (a key set to null and an absent one read the same). */
function canonNoNulls(v: unknown): string {
  return canon(JSON.parse(JSON.stringify(v ?? null, (_k, x) => (isHash(x) ? Object.fromEntries(Object.entries(x).filter(([, y]) => y !== null)) : x))));
}

/**
 * Checks that a subscription's customer.subscription.* events chain: each event with
 * previous_attributes names exactly the top-level fields that differ from the object of the event
 * before it, with that object's values (a hash by its changed keys only, as Stripe's), and the last event's object is the subscription as it is now.
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
    const wrong = named.filter((k) => changed.includes(k) && canonNoNulls(withPrevious(after[k], prev[k])) !== canonNoNulls(before[k]));
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
