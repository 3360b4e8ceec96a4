// Features are a product's entitlements as structured data ({ key, name, value }), so subscriptions
// and the credit ledger can read "sessions_per_week = 4" instead of parsing marketing copy.
// Stripe's display list (`marketing_features: [{ name }]`) is derived from them, never stored twice.

export type FeatureValue = number | boolean | string;

export interface Feature {
  key: string;
  name: string;
  /** null: a plain entitlement with no quantity (e.g. priority_support). */
  value: FeatureValue | null;
}

export const FEATURE_KEY = /^[a-z0-9_]+$/;
export const MAX_FEATURES = 50;

export function marketingFeatures(features: readonly Feature[]): { name: string }[] {
  return features.map((f) => ({ name: f.name }));
}

/**
 * What a product grants for `key`: its value, `true` for a feature without a value, `undefined`
 * when the product does not have the feature.
 */
export function entitlement(features: readonly Feature[], key: string): FeatureValue | undefined {
  const f = features.find((x) => x.key === key);
  if (!f) return undefined;
  return f.value ?? true;
}

/** Index of the first feature whose key repeats an earlier one, or -1. */
export function duplicateFeatureIndex(features: readonly { key: string }[]): number {
  const seen = new Set<string>();
  for (const [i, f] of features.entries()) {
    if (seen.has(f.key)) return i;
    seen.add(f.key);
  }
  return -1;
}
