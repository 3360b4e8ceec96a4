import type { Queryable } from '../../db/index.js';
import { newId } from '../../core/ids/index.js';
import { CREDIT_PACK_PRICING, creditPackAmount } from './domain/credit-packs.js';
import type { FeatureValue } from './domain/features.js';
import type { Interval } from './domain/recurring.js';
import { findPriceByLookupKey, findProduct } from './repository.js';
import { createPrice, createProduct } from './service.js';

// The first user's catalog (docs: product.md), which is also the demo data. Products have fixed ids
// and prices fixed lookup keys, so the seed inserts only what is missing: a second run creates
// nothing and writes no events. It goes through the same service code as the API (validation and
// product.created / price.created events included).

export interface SeedPrice {
  lookup_key: string;
  nickname: string;
  unit_amount: number;
  recurring?: { interval: Interval; interval_count?: number };
  trial_period_days?: number;
}

export interface SeedProduct {
  id: string;
  name: string;
  description: string;
  features: { key: string; name: string; value?: FeatureValue }[];
  metadata?: Record<string, string>;
  /** The first price becomes the product's default_price. */
  prices: SeedPrice[];
}

const USD = 'usd';
const month = { interval: 'month' } as const;
const year = { interval: 'year' } as const;

const platformPlan = (tier: string, name: string, unitAmount: number, includedCredits: number): SeedProduct => ({
  id: `prod_platform_${tier}`,
  name: `Platform ${name}`,
  description: `The coaching software platform, ${name} plan: ${includedCredits.toLocaleString('en-US')} credits included every month.`,
  features: [
    { key: 'platform_access', name: 'Platform access' },
    { key: 'included_credits', name: `${includedCredits.toLocaleString('en-US')} credits a month`, value: includedCredits },
  ],
  metadata: { included_credits: String(includedCredits) },
  prices: [{ lookup_key: `platform_${tier}_monthly`, nickname: `Platform ${name} monthly`, unit_amount: unitAmount, recurring: month }],
});

const creditPacks: SeedProduct[] = CREDIT_PACK_PRICING.ladder.map((pack) => ({
  id: `prod_credits_${pack.credits}`,
  name: `${pack.credits.toLocaleString('en-US')} credits`,
  description: `A pack of ${pack.credits.toLocaleString('en-US')} platform credits (one credit = USD 0.01 of usage).`,
  features: [{ key: 'credits', name: `${pack.credits.toLocaleString('en-US')} credits`, value: pack.credits }],
  metadata: { credits: String(pack.credits) },
  prices: [{ lookup_key: `credits_${pack.credits}`, nickname: `${pack.credits} credits`, unit_amount: creditPackAmount(pack) }],
}));

export const SEED_CATALOG: readonly SeedProduct[] = [
  {
    id: 'prod_elite_coaching',
    name: 'Elite 1:1 Coaching',
    description: 'Four weekly one-to-one coaching sessions with priority support and custom materials.',
    features: [
      { key: 'sessions_per_week', name: '4 weekly 1:1 sessions', value: 4 },
      { key: 'session_minutes', name: '60-minute sessions', value: 60 },
      { key: 'participants', name: '1 participant', value: 1 },
      { key: 'priority_support', name: 'Priority support' },
      { key: 'custom_materials', name: 'Custom materials' },
      { key: 'unlimited_messaging', name: 'Unlimited messaging' },
      { key: 'success_guarantee', name: 'Success guarantee' },
    ],
    prices: [
      { lookup_key: 'elite_monthly', nickname: 'Elite monthly', unit_amount: 500_000, recurring: month, trial_period_days: 7 },
      // Annual = 12 months less 10 %.
      { lookup_key: 'elite_annual', nickname: 'Elite annual', unit_amount: 5_400_000, recurring: year, trial_period_days: 7 },
    ],
  },
  {
    id: 'prod_group_coaching',
    name: 'Group Coaching Programs',
    description: 'Two weekly group sessions of up to eight participants, with a monthly 1:1.',
    features: [
      { key: 'sessions_per_week', name: '2 weekly group sessions', value: 2 },
      { key: 'max_participants', name: 'Up to 8 participants', value: 8 },
      { key: 'session_minutes', name: '90-minute sessions', value: 90 },
      { key: 'community_access', name: 'Community access' },
      { key: 'resource_library', name: 'Resource library' },
      { key: 'monthly_1on1', name: 'A monthly 1:1 session', value: 1 },
    ],
    prices: [
      { lookup_key: 'group_monthly', nickname: 'Group monthly', unit_amount: 150_000, recurring: month, trial_period_days: 14 },
      { lookup_key: 'group_quarterly', nickname: 'Group quarterly', unit_amount: 420_000, recurring: { interval: 'month', interval_count: 3 }, trial_period_days: 14 },
    ],
  },
  {
    id: 'prod_community',
    name: 'Community Access',
    description: 'The members community: forum, monthly webinars, downloads and peer networking.',
    features: [
      { key: 'forum', name: 'Forum' },
      { key: 'monthly_webinars', name: 'Monthly webinars' },
      { key: 'resource_downloads', name: 'Resource downloads' },
      { key: 'peer_networking', name: 'Peer networking' },
    ],
    prices: [
      { lookup_key: 'community_monthly', nickname: 'Community monthly', unit_amount: 9_700, recurring: month, trial_period_days: 30 },
      { lookup_key: 'community_annual', nickname: 'Community annual', unit_amount: 97_000, recurring: year, trial_period_days: 30 },
    ],
  },
  {
    id: 'prod_course',
    name: 'Self-Paced Courses',
    description: 'Every course module with lifetime access, downloads and a certificate; includes 90 days of Community Access.',
    features: [
      { key: 'lifetime_access', name: 'Lifetime access' },
      { key: 'all_modules', name: 'All modules' },
      { key: 'downloads', name: 'Downloads' },
      { key: 'certificate', name: 'Certificate' },
      { key: 'community_access_days', name: '90 days of Community Access', value: 90 },
    ],
    prices: [{ lookup_key: 'course_onetime', nickname: 'Course one-time', unit_amount: 99_700 }],
  },
  {
    // No standard price: each deal gets a custom price created with `customer`.
    id: 'prod_enterprise_training',
    name: 'Enterprise Training',
    description: 'Training programmes for teams, priced per customer and invoiced on NET 30 terms.',
    features: [
      { key: 'team_training', name: 'Team training' },
      { key: 'custom_pricing', name: 'Custom pricing' },
    ],
    metadata: { collection_method: 'send_invoice', days_until_due: '30' },
    prices: [],
  },
  platformPlan('starter', 'Starter', 4_900, 1_000),
  platformPlan('professional', 'Professional', 14_900, 5_000),
  platformPlan('enterprise', 'Enterprise', 39_900, 20_000),
  ...creditPacks,
];

// Two processes seeding the same database at once take turns instead of racing to the same ids.
const SEED_LOCK_KEY = 7_202_613;

export async function seedCatalog(q: Queryable, now: Date): Promise<{ created: number }> {
  await q.query('SELECT pg_advisory_xact_lock($1)', [SEED_LOCK_KEY]);
  let created = 0;
  for (const p of SEED_CATALOG) {
    let product = await findProduct(q, p.id);
    const [first] = p.prices;
    const firstMissing = first !== undefined && (await findPriceByLookupKey(q, first.lookup_key)) === null;
    const defaultPriceId = firstMissing ? newId('price') : undefined;
    if (!product) {
      await createProduct(q, now, { id: p.id, name: p.name, description: p.description, features: p.features, metadata: p.metadata }, { defaultPriceId });
      created++;
      product = await findProduct(q, p.id);
    }
    // The operator deleted this product: respect that rather than resurrect its prices.
    if (!product || product.deleted_at) continue;
    for (const price of p.prices) {
      if (await findPriceByLookupKey(q, price.lookup_key)) continue;
      await createPrice(
        q,
        now,
        {
          product: p.id,
          currency: USD,
          unit_amount: price.unit_amount,
          recurring: price.recurring,
          trial_period_days: price.trial_period_days,
          lookup_key: price.lookup_key,
          nickname: price.nickname,
        },
        // Only a product created in this run points at a not-yet-created default price.
        { id: price === first && product.default_price === defaultPriceId ? defaultPriceId : undefined },
      );
      created++;
    }
  }
  return { created };
}
