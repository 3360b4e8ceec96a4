import type { RoutingRule } from '../config.js';

// Rules choose the ordered gateway list for a charge: the first rule whose every condition holds
// wins; no rule matching means the configured default order.

export interface RouteInput {
  amount: number;
  currency: string;
  /** The customer's country (billing address), else the card's issuing country. */
  country: string | null;
  paymentMethodType: string;
  brand: string | null;
}

export function ruleMatches(rule: RoutingRule, input: RouteInput): boolean {
  if (rule.currencies && !rule.currencies.includes(input.currency.toLowerCase())) return false;
  if (rule.countries && (!input.country || !rule.countries.includes(input.country.toUpperCase()))) return false;
  if (rule.min_amount !== undefined && input.amount < rule.min_amount) return false;
  if (rule.max_amount !== undefined && input.amount > rule.max_amount) return false;
  if (rule.payment_method_types && !rule.payment_method_types.includes(input.paymentMethodType)) return false;
  if (rule.brands && (!input.brand || !rule.brands.includes(input.brand.toLowerCase()))) return false;
  return true;
}

export function selectRoute(rules: readonly RoutingRule[], input: RouteInput, defaultOrder: readonly string[]): { rule: string | null; gateways: string[] } {
  const rule = rules.find((r) => ruleMatches(r, input));
  return rule ? { rule: rule.name, gateways: [...rule.gateways] } : { rule: null, gateways: [...defaultOrder] };
}
