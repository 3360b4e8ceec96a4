import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createBillingApp, unix } from '../../../test/helpers/billing.js';
import { usingPostgres } from '../../../test/helpers/db.js';

// An advance checks frozen_time < target, then claims the clock: the claim re-checks it in the same
// statement, so an advance whose check went stale (another one moved the clock past its target in
// between) is refused with a 400 and never moves the clock backwards.

type T = Awaited<ReturnType<typeof createBillingApp>>;
let t: T;
const START = unix('2026-01-15T12:00:00Z');
const DAY = 86_400;

beforeAll(async () => {
  t = await createBillingApp();
});
afterEach(() => vi.restoreAllMocks());
afterAll(() => t.close());

const advance = (clock: string, to: number) => t.call({ method: 'POST', url: `/v1/test_helpers/test_clocks/${clock}/advance`, payload: { frozen_time: to } });
const frozenTime = async (clock: string) => (await t.call({ method: 'GET', url: `/v1/test_helpers/test_clocks/${clock}` })).body;

describe('test clock advance claim', () => {
  it('refuses an advance whose target the clock passed between its check and its claim (400 on frozen_time); the clock stays', async () => {
    const clock = await t.clockAt('2026-01-15T12:00:00Z');
    const db = t.testDb.db;
    const realQuery = db.query.bind(db);
    let moved = false;
    vi.spyOn(db, 'query').mockImplementation((async (sql: string, params?: unknown[]) => {
      // Another advance finishes to +10 days right after this one checked frozen_time.
      if (!moved && typeof sql === 'string' && sql.includes("SET status = 'advancing'")) {
        moved = true;
        await realQuery(`UPDATE test_clocks SET frozen_time = $2 WHERE id = $1`, [clock, new Date((START + 10 * DAY) * 1000)]);
      }
      return realQuery(sql, params);
    }) as typeof db.query);
    const res = await advance(clock, START + 5 * DAY);
    vi.restoreAllMocks();
    expect(moved).toBe(true);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'parameter_invalid', param: 'frozen_time' });
    expect(await frozenTime(clock)).toMatchObject({ frozen_time: START + 10 * DAY, status: 'ready' });
    // A later target still advances normally.
    const next = await advance(clock, START + 12 * DAY);
    expect(next.status).toBe(200);
    expect(next.body).toMatchObject({ frozen_time: START + 12 * DAY, status: 'ready' });
  });

  it('while advancing, the clock shows status_details.advancing.target_frozen_time (Stripe); ready again, {}', async () => {
    const clock = await t.clockAt('2026-01-15T12:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer, items: [{ price: await t.priceId('community_monthly') }], trial_period_days: 7 } });
    const db = t.testDb.db;
    const realQuery = db.query.bind(db);
    let seen: { status?: string; status_details?: unknown } | null = null;
    vi.spyOn(db, 'query').mockImplementation((async (sql: string, params?: unknown[]) => {
      // At the advance's first due instant (the trial-will-end notice), another request reads the clock.
      if (!seen && typeof sql === 'string' && sql.includes('SET frozen_time = $2, advancing_since = $3')) {
        seen = {};
        seen = await frozenTime(clock);
      }
      return realQuery(sql, params);
    }) as typeof db.query);
    const res = await advance(clock, START + 20 * DAY);
    vi.restoreAllMocks();
    expect(res.status).toBe(200);
    expect(seen).toMatchObject({ status: 'advancing', status_details: { advancing: { target_frozen_time: START + 20 * DAY } } });
    expect(res.body).toMatchObject({ status: 'ready', status_details: {} });
    expect(await frozenTime(clock)).toMatchObject({ status: 'ready', status_details: {}, frozen_time: START + 20 * DAY });
  });

  it.skipIf(!usingPostgres)('two overlapping advances (PostgreSQL): the stale one is refused, the clock ends at the later target', async () => {
    const clock = await t.clockAt('2026-01-15T12:00:00Z');
    const db = t.testDb.db;
    const realQuery = db.query.bind(db);
    let claims = 0;
    let firstDone!: () => void;
    const firstFinished = new Promise<void>((r) => (firstDone = r));
    vi.spyOn(db, 'query').mockImplementation((async (sql: string, params?: unknown[]) => {
      if (typeof sql === 'string' && sql.includes("SET status = 'advancing'") && ++claims === 2) await firstFinished;
      return realQuery(sql, params);
    }) as typeof db.query);
    const later = advance(clock, START + 10 * DAY).then((r) => {
      firstDone();
      return r;
    });
    const earlier = advance(clock, START + 5 * DAY);
    const [a, b] = await Promise.all([later, earlier]);
    vi.restoreAllMocks();
    expect(a.status).toBe(200);
    expect(b.status).toBe(400);
    expect((await frozenTime(clock)).frozen_time).toBe(START + 10 * DAY);
  });
});
