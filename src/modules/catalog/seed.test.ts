import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers/app.js';
import { SEED_CATALOG, seedCatalog } from './seed.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

async function count(sql: string): Promise<number> {
  const { rows } = await t.testDb.db.query<{ n: number }>(sql);
  return rows[0]!.n;
}

const seed = () => t.testDb.db.tx((q) => seedCatalog(q, t.clock.now()));

const PRODUCT_IDS = [
  'prod_elite_coaching', 'prod_group_coaching', 'prod_community', 'prod_course', 'prod_enterprise_training',
  'prod_platform_starter', 'prod_platform_professional', 'prod_platform_enterprise',
  'prod_credits_500', 'prod_credits_1000', 'prod_credits_2500', 'prod_credits_5000',
];

// lookup_key → [product, unit_amount, interval, interval_count, trial_period_days]
const PRICES: Record<string, [string, number, string | null, number | null, number | null]> = {
  elite_monthly: ['prod_elite_coaching', 500_000, 'month', 1, 7],
  elite_annual: ['prod_elite_coaching', 5_400_000, 'year', 1, 7],
  group_monthly: ['prod_group_coaching', 150_000, 'month', 1, 14],
  group_quarterly: ['prod_group_coaching', 420_000, 'month', 3, 14],
  community_monthly: ['prod_community', 9_700, 'month', 1, 30],
  community_annual: ['prod_community', 97_000, 'year', 1, 30],
  course_onetime: ['prod_course', 99_700, null, null, null],
  platform_starter_monthly: ['prod_platform_starter', 4_900, 'month', 1, null],
  platform_professional_monthly: ['prod_platform_professional', 14_900, 'month', 1, null],
  platform_enterprise_monthly: ['prod_platform_enterprise', 39_900, 'month', 1, null],
  credits_500: ['prod_credits_500', 500, null, null, null],
  credits_1000: ['prod_credits_1000', 950, null, null, null],
  credits_2500: ['prod_credits_2500', 2_250, null, null, null],
  credits_5000: ['prod_credits_5000', 4_250, null, null, null],
};

type Price = { id: string; lookup_key: string; product: string; unit_amount: number; currency: string; type: string; recurring: { interval: string; interval_count: number; trial_period_days: number | null } | null };

describe('seedCatalog', () => {
  it('seeds the first user’s catalog once: 12 products and 14 prices, with their events', async () => {
    expect(SEED_CATALOG.map((p) => p.id)).toEqual(PRODUCT_IDS);
    // Two seeds at once (two processes starting together): one creates everything, the other nothing.
    const runs = await Promise.all([seed(), seed()]);
    expect(runs.map((r) => r.created).sort((a, b) => a - b)).toEqual([0, 26]);
    expect(await count('SELECT count(*)::int AS n FROM products')).toBe(12);
    expect(await count('SELECT count(*)::int AS n FROM prices')).toBe(14);
    expect(await count("SELECT count(*)::int AS n FROM events WHERE type = 'product.created'")).toBe(12);
    expect(await count("SELECT count(*)::int AS n FROM events WHERE type = 'price.created'")).toBe(14);
    const events = await count('SELECT count(*)::int AS n FROM events');
    expect(events).toBe(26);

    t.clock.advance(86_400_000);
    const second = await seed();
    expect(second).toEqual({ created: 0 });
    expect(await count('SELECT count(*)::int AS n FROM events')).toBe(events);
    expect(await count('SELECT count(*)::int AS n FROM prices')).toBe(14);
  });

  it('gives every seeded price its exact amount, interval and trial, in USD', async () => {
    const res = await t.call({ method: 'GET', url: `/v1/prices?limit=100&${Object.keys(PRICES).slice(0, 10).map((k) => `lookup_keys[]=${k}`).join('&')}` });
    const res2 = await t.call({ method: 'GET', url: `/v1/prices?limit=100&${Object.keys(PRICES).slice(10).map((k, i) => `lookup_keys[${i}]=${k}`).join('&')}` });
    const prices: Price[] = [...res.body.data, ...res2.body.data];
    expect(prices).toHaveLength(14);
    const byKey = Object.fromEntries(
      prices.map((p) => [
        p.lookup_key,
        [p.product, p.unit_amount, p.recurring?.interval ?? null, p.recurring?.interval_count ?? null, p.recurring?.trial_period_days ?? null],
      ]),
    );
    expect(byKey).toEqual(PRICES);
    for (const p of prices) {
      expect(p.currency).toBe('usd');
      expect(p.type).toBe(p.recurring ? 'recurring' : 'one_time');
    }
    // Each product's first price is its default price; Enterprise Training has none.
    const elite = await t.call({ method: 'GET', url: '/v1/products/prod_elite_coaching?expand[]=default_price' });
    expect(elite.body.default_price).toMatchObject({ lookup_key: 'elite_monthly', unit_amount: 500_000 });
    const credits = await t.call({ method: 'GET', url: '/v1/products/prod_credits_2500?expand[]=default_price' });
    expect(credits.body.default_price).toMatchObject({ lookup_key: 'credits_2500', unit_amount: 2_250 });
    const enterprisePrices = await t.call({ method: 'GET', url: '/v1/prices?product=prod_enterprise_training' });
    expect(enterprisePrices.body.data).toEqual([]);
  });

  it('stores features as structured data and plan configuration in metadata', async () => {
    const get = async (id: string) => (await t.call({ method: 'GET', url: `/v1/products/${id}` })).body;
    const elite = await get('prod_elite_coaching');
    expect(elite.name).toBe('Elite 1:1 Coaching');
    expect(elite.features.map((f: { key: string; value: unknown }) => [f.key, f.value])).toEqual([
      ['sessions_per_week', 4],
      ['session_minutes', 60],
      ['participants', 1],
      ['priority_support', null],
      ['custom_materials', null],
      ['unlimited_messaging', null],
      ['success_guarantee', null],
    ]);
    expect(elite.marketing_features).toHaveLength(7);
    const group = await get('prod_group_coaching');
    expect(Object.fromEntries(group.features.map((f: { key: string; value: unknown }) => [f.key, f.value]))).toEqual({
      sessions_per_week: 2,
      max_participants: 8,
      session_minutes: 90,
      community_access: null,
      resource_library: null,
      monthly_1on1: 1,
    });
    const community = await get('prod_community');
    expect(community.features.map((f: { key: string }) => f.key)).toEqual(['forum', 'monthly_webinars', 'resource_downloads', 'peer_networking']);
    const course = await get('prod_course');
    expect(course.features.find((f: { key: string }) => f.key === 'community_access_days').value).toBe(90);
    expect(course.features.map((f: { key: string }) => f.key)).toEqual(['lifetime_access', 'all_modules', 'downloads', 'certificate', 'community_access_days']);
    expect((await get('prod_enterprise_training')).metadata).toEqual({ collection_method: 'send_invoice', days_until_due: '30' });
    for (const [tier, credits] of [['starter', 1000], ['professional', 5000], ['enterprise', 20000]] as const) {
      const plan = await get(`prod_platform_${tier}`);
      expect(plan.metadata).toEqual({ included_credits: String(credits) });
      expect(plan.features.find((f: { key: string }) => f.key === 'included_credits').value).toBe(credits);
    }
    for (const credits of [500, 1000, 2500, 5000]) {
      expect((await get(`prod_credits_${credits}`)).metadata).toEqual({ credits: String(credits) });
    }
  });

  it('fills in only what is missing and leaves a deleted product alone', async () => {
    // A price whose lookup key was taken away is re-created; nothing else is.
    const course = await t.call({ method: 'GET', url: '/v1/prices?lookup_keys[]=course_onetime' });
    await t.call({ method: 'POST', url: `/v1/prices/${course.body.data[0].id}`, payload: { lookup_key: '' } });
    // A product the operator deleted stays deleted (Enterprise Training has no prices, so it can be).
    await t.call({ method: 'DELETE', url: '/v1/products/prod_enterprise_training' });
    const events = await count('SELECT count(*)::int AS n FROM events');
    expect(await seed()).toEqual({ created: 1 });
    expect(await count('SELECT count(*)::int AS n FROM events')).toBe(events + 1);
    const recreated = await t.call({ method: 'GET', url: '/v1/prices?lookup_keys[]=course_onetime' });
    expect(recreated.body.data[0]).toMatchObject({ product: 'prod_course', unit_amount: 99_700 });
    expect(recreated.body.data[0].id).not.toBe(course.body.data[0].id);
    expect((await t.call({ method: 'GET', url: '/v1/products/prod_enterprise_training' })).body.deleted).toBe(true);
  });
});
