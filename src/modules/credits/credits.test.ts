import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers/app.js';
import { isRetryable } from './errors.js';
import { checkLedger } from './service.js';

// The credits API on one app: grants, usage (single and batch, idempotent), 402 or overage,
// balances, the ledger history (JSON and CSV), usage summaries, features, voids, low-balance alerts.

let t: TestApp;
beforeAll(async () => {
  // The test app's clock: 2026-01-15T12:00:00Z.
  t = await createTestApp({ config: {} });
});
afterAll(() => t.close());

const NOW = 1768478400; // 2026-01-15T12:00:00Z

async function customer(email = 'u@example.com'): Promise<string> {
  const res = await t.call({ method: 'POST', url: '/v1/customers', payload: { email } });
  return res.body.id;
}

async function grant(customerId: string, amount: number, extra: Record<string, unknown> = {}) {
  const res = await t.call({ method: 'POST', url: '/v1/credit_grants', payload: { customer: customerId, amount, ...extra } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

async function balance(customerId: string) {
  const res = await t.call({ method: 'GET', url: `/v1/customers/${customerId}/credit_balance` });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

const use = (payload: Record<string, unknown>) => t.call({ method: 'POST', url: '/v1/usage_events', payload });

describe('features', () => {
  it('lists the seeded features with credits per unit, and changes a price from an effective date', async () => {
    const res = await t.call({ method: 'GET', url: '/v1/features' });
    expect(res.status).toBe(200);
    expect(res.body.data.map((f: { key: string; credits: number }) => [f.key, f.credits])).toEqual([
      ['ai_message', 2],
      ['email_send', 1],
      ['lead_enrichment', 5],
      ['linkedin_message', 3],
    ]);
    const created = await t.call({ method: 'POST', url: '/v1/features', payload: { key: 'voice_minute', name: 'Voice minute', credits: 10 } });
    expect(created.body).toMatchObject({ object: 'feature', key: 'voice_minute', credits: 10, prices: [{ credits: 10, effective_at: NOW }] });
    const dup = await t.call({ method: 'POST', url: '/v1/features', payload: { key: 'voice_minute', name: 'x', credits: 1 } });
    expect([dup.status, dup.body.error.code]).toEqual([400, 'resource_already_exists']);
    // From Feb 1 on, a voice minute costs 12 credits; today it still costs 10.
    const upd = await t.call({ method: 'POST', url: '/v1/features/voice_minute', payload: { credits: 12, effective_at: NOW + 17 * 86400 } });
    expect(upd.body.credits).toBe(10);
    expect(upd.body.prices).toEqual([
      { credits: 10, effective_at: NOW },
      { credits: 12, effective_at: NOW + 17 * 86400 },
    ]);
    const later = await t.call({ method: 'GET', url: `/v1/features/voice_minute?at=${NOW + 20 * 86400}` });
    expect(later.body.credits).toBe(12);
    const past = await t.call({ method: 'POST', url: '/v1/features/voice_minute', payload: { credits: 1, effective_at: NOW - 60 } });
    expect([past.status, past.body.error.param]).toEqual([400, 'effective_at']);
  });
});

describe('usage events', () => {
  it('deducts credits, is idempotent on the event id, and answers 402 when credits run out', async () => {
    const c = await customer();
    const g = await grant(c, 100);
    expect(g).toMatchObject({ object: 'credit_grant', source: 'promotion', amount: 100, remaining: 100, status: 'active', expires_at: null });

    const first = await use({ id: 'evt-a-1', customer: c, feature: 'lead_enrichment', quantity: 4 });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toMatchObject({ object: 'usage_event', id: 'evt-a-1', status: 'accepted', credits: 20, overage_credits: 0, timestamp: NOW });
    expect(first.body.credit_transaction).toMatch(/^ctx_/);

    const again = await use({ id: 'evt-a-1', customer: c, feature: 'lead_enrichment', quantity: 4 });
    expect(again.body).toMatchObject({ id: 'evt-a-1', status: 'duplicate', credits: 20, credit_transaction: first.body.credit_transaction });
    expect((await balance(c)).available).toBe(80);

    const conflict = await use({ id: 'evt-a-1', customer: c, feature: 'lead_enrichment', quantity: 5 });
    expect([conflict.status, conflict.body.error.code, conflict.body.error.param]).toEqual([409, 'idempotency_key_in_use', 'id']);

    const tooMuch = await use({ id: 'evt-a-2', customer: c, feature: 'ai_message', quantity: 41 });
    expect(tooMuch.status).toBe(402);
    expect(tooMuch.body.error).toMatchObject({ code: 'insufficient_credits', type: 'invalid_request_error' });
    expect((await balance(c)).available).toBe(80);
    // Nothing was recorded for the refused event: the same id goes through once it fits.
    const fits = await use({ id: 'evt-a-2', customer: c, feature: 'ai_message', quantity: 40 });
    expect(fits.body).toMatchObject({ status: 'accepted', credits: 80 });
    expect((await balance(c)).available).toBe(0);
    // With no credits left, a replay is still the recorded event, not a 402.
    const replay = await use({ id: 'evt-a-2', customer: c, feature: 'ai_message', quantity: 40 });
    expect([replay.status, replay.body.status]).toEqual([200, 'duplicate']);
  });

  it('takes a batch with a result per event, in order, each event whole or not at all', async () => {
    const c = await customer();
    await grant(c, 50);
    const res = await use({
      events: [
        { id: 'b-1', customer: c, feature: 'lead_enrichment', quantity: 6 }, // 30
        { id: 'b-2', customer: c, feature: 'lead_enrichment', quantity: 5 }, // 25 > 20 left: refused
        { id: 'b-3', customer: c, feature: 'ai_message', quantity: 10 }, // 20: fits
        { id: 'b-1', customer: c, feature: 'lead_enrichment', quantity: 6 }, // repeated in the batch
        { id: 'b-4', customer: 'cus_missing', feature: 'ai_message', quantity: 1 },
        { id: 'b-5', customer: c, feature: 'no_such_feature', quantity: 1 },
        { id: 'b-6', customer: c, feature: 'email_send', quantity: 1, timestamp: NOW - 40 * 86400 },
        { id: 'b-7', customer: c, feature: 'email_send', quantity: 1, timestamp: NOW + 3600 },
      ],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ object: 'usage_event_batch', accepted: 2, duplicates: 1, failed: 5 });
    expect(res.body.data.map((d: { id: string; status: string; error?: { code: string } }) => [d.id, d.status, d.error?.code ?? null])).toEqual([
      ['b-1', 'accepted', null],
      ['b-2', 'failed', 'insufficient_credits'],
      ['b-3', 'accepted', null],
      ['b-1', 'duplicate', null],
      ['b-4', 'failed', 'resource_missing'],
      ['b-5', 'failed', 'resource_missing'],
      ['b-6', 'failed', 'timestamp_too_old'],
      ['b-7', 'failed', 'timestamp_in_future'],
    ]);
    expect((await balance(c)).available).toBe(0);
    // One ledger transaction for the batch: 50 out of the lot, 50 into consumption.
    const txs = await t.call({ method: 'GET', url: `/v1/credit_transactions?customer=${c}&type=usage` });
    expect(txs.body.data).toHaveLength(1);
    expect(txs.body.data[0]).toMatchObject({ type: 'usage', amount: -50, idempotency_key: 'usage:b-1' });
    expect(txs.body.data[0].entries.map((e: { account_type: string; amount: number }) => [e.account_type, e.amount])).toEqual([
      ['wallet', -50],
      ['consumption', 50],
    ]);
  });

  it('rejects malformed requests naming the parameter, and batches over 1,000', async () => {
    const missing = await use({ id: 'x', feature: 'ai_message', quantity: 1 });
    expect([missing.status, missing.body.error.code, missing.body.error.param]).toEqual([400, 'parameter_missing', 'customer']);
    const bad = await use({ events: [{ id: 'x', customer: 'c', feature: 'ai_message', quantity: 0 }] });
    expect([bad.status, bad.body.error.param]).toEqual([400, 'events[0][quantity]']);
    const big = await use({ events: Array.from({ length: 1001 }, (_, i) => ({ id: `big-${i}`, customer: 'c', feature: 'ai_message', quantity: 1 })) });
    expect([big.status, big.body.error.param]).toEqual([400, 'events']);
  });

  it('honours the Idempotency-Key header like every mutation, and answers 404 for a deleted customer', async () => {
    const c = await customer();
    await grant(c, 100);
    const send = (payload: Record<string, unknown>) => t.call({ method: 'POST', url: '/v1/usage_events', headers: { 'idempotency-key': 'usage-key-1' }, payload });
    const first = await send({ id: 'ik-1', customer: c, feature: 'ai_message', quantity: 1 });
    const again = await send({ id: 'ik-1', customer: c, feature: 'ai_message', quantity: 1 });
    expect([first.status, again.status, again.headers['idempotent-replayed']]).toEqual([200, 200, 'true']);
    expect(again.body).toEqual(first.body);
    const other = await send({ id: 'ik-2', customer: c, feature: 'ai_message', quantity: 1 });
    expect([other.status, other.body.error.code]).toEqual([409, 'idempotency_key_in_use']);
    await t.call({ method: 'DELETE', url: `/v1/customers/${c}` });
    const gone = await use({ id: 'ik-3', customer: c, feature: 'ai_message', quantity: 1 });
    expect([gone.status, gone.body.error.code, gone.body.error.param]).toEqual([404, 'resource_missing', 'customer']);
  });

  it('takes the soonest-expiring grant first', async () => {
    const c = await customer();
    const never = await grant(c, 100);
    const late = await grant(c, 100, { expires_at: NOW + 30 * 86400 });
    const soon = await grant(c, 100, { expires_at: NOW + 10 * 86400 });
    await use({ id: 'order-1', customer: c, feature: 'lead_enrichment', quantity: 30 }); // 150
    const b = await balance(c);
    expect(b.available).toBe(150);
    expect(b.grants).toEqual([
      { id: late.id, source: 'promotion', remaining: 50, expires_at: NOW + 30 * 86400 },
      { id: never.id, source: 'promotion', remaining: 100, expires_at: null },
    ]);
    expect(soon.id).toBeTruthy();
    expect(b.expiring_soon).toEqual({ credits: 0, before: NOW + 7 * 86400, grants: [] });
  });

  it('bills overage as a pending invoice item at USD 0.01 per credit when the customer allows it', async () => {
    const c = await customer();
    await grant(c, 30);
    const set = await t.call({ method: 'POST', url: `/v1/customers/${c}/credit_settings`, payload: { overage: 'bill', low_balance_thresholds: [25, 10] } });
    expect(set.body.settings).toEqual({ overage: 'bill', low_balance_thresholds: [25, 10], overage_unit_amount: 1, overage_currency: 'usd' });
    const res = await use({ id: 'ov-1', customer: c, feature: 'lead_enrichment', quantity: 10 }); // 50: 30 + 20 overage
    expect(res.body).toMatchObject({ status: 'accepted', credits: 50, overage_credits: 20 });
    expect((await balance(c)).available).toBe(0);
    const items = await t.call({ method: 'GET', url: `/v1/invoiceitems?customer=${c}&pending=true` });
    expect(items.body.data.map((i: { amount: number; currency: string; quantity: number; unit_amount: number; description: string }) => [i.amount, i.currency, i.quantity, i.unit_amount, i.description])).toEqual([
      [20, 'usd', 20, 1, 'Credit overage: 20 credits'],
    ]);
    const tx = (await t.call({ method: 'GET', url: `/v1/credit_transactions?customer=${c}&type=usage` })).body.data[0];
    expect(tx.entries.map((e: { account_type: string; amount: number }) => [e.account_type, e.amount])).toEqual([
      ['wallet', -30],
      ['overage', -20],
      ['consumption', 50],
    ]);
    // The balance went from 30 to 0: it crossed 25 and 10.
    const ev = await t.call({ method: 'GET', url: `/v1/events?customer=${c}&type=credits.balance_low` });
    expect(ev.body.data.map((e: { data: { object: { threshold: number; available: number } } }) => [e.data.object.threshold, e.data.object.available]).sort()).toEqual([
      [10, 0],
      [25, 0],
    ]);
  });

  it('summarises usage per feature and day', async () => {
    const c = await customer();
    await grant(c, 1000);
    await use({
      events: [
        { id: 's-1', customer: c, feature: 'ai_message', quantity: 3, timestamp: NOW - 86400 },
        { id: 's-2', customer: c, feature: 'ai_message', quantity: 2, timestamp: NOW - 86400 + 60 },
        { id: 's-3', customer: c, feature: 'lead_enrichment', quantity: 1, timestamp: NOW },
        { id: 's-4', customer: c, feature: 'ai_message', quantity: 1, timestamp: NOW },
      ],
    });
    const res = await t.call({ method: 'GET', url: `/v1/usage_summaries?customer=${c}` });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.data.map((s: { day: string; feature: string; events: number; quantity: number; credits: number }) => [s.day, s.feature, s.events, s.quantity, s.credits])).toEqual([
      ['2026-01-14', 'ai_message', 2, 5, 10],
      ['2026-01-15', 'ai_message', 1, 1, 2],
      ['2026-01-15', 'lead_enrichment', 1, 1, 5],
    ]);
  });
});

describe('grants, voids and the ledger', () => {
  it('voids a grant, clawing back only its unused credits', async () => {
    const c = await customer();
    const g = await grant(c, 500);
    await use({ id: 'v-1', customer: c, feature: 'lead_enrichment', quantity: 20 }); // 100
    const voided = await t.call({ method: 'POST', url: `/v1/credit_grants/${g.id}/void`, payload: { reason: 'refund' } });
    expect(voided.body).toMatchObject({ id: g.id, status: 'voided', remaining: 0, voided_at: NOW });
    expect((await balance(c)).available).toBe(0);
    const again = await t.call({ method: 'POST', url: `/v1/credit_grants/${g.id}/void`, payload: {} });
    expect(again.status).toBe(200);
    const txs = (await t.call({ method: 'GET', url: `/v1/credit_transactions?customer=${c}` })).body.data;
    expect(txs.map((x: { type: string; amount: number }) => [x.type, x.amount])).toEqual([
      ['void', -400],
      ['usage', -100],
      ['grant', 500],
    ]);
    expect(txs[0].entries.map((e: { account_type: string; amount: number }) => [e.account_type, e.amount])).toEqual([
      ['wallet', -400],
      ['refunds', 400],
    ]);
  });

  it('exports the history as CSV (query or Accept header), one row per entry', async () => {
    const c = await customer();
    await grant(c, 10, { description: 'Welcome, "friend"' });
    await use({ id: 'csv-1', customer: c, feature: 'email_send', quantity: 3 });
    const res = await t.app.inject({ method: 'GET', url: `/v1/credit_transactions?customer=${c}&format=csv`, headers: { authorization: `Bearer ${t.key}` } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    const lines = res.body.trim().split('\r\n');
    expect(lines[0]).toBe('transaction,created,type,customer,wallet_change,account,account_type,grant,amount,description,idempotency_key');
    expect(lines.slice(1).map((l) => l.split(',').slice(2, 7).concat(l.split(',')[8]!))).toEqual([
      ['grant', c, '10', 'cacct_promotions', 'promotions', '-10'],
      ['grant', c, '10', `cwal_${c}`, 'wallet', '10'],
      ['usage', c, '-3', `cwal_${c}`, 'wallet', '-3'],
      ['usage', c, '-3', 'cacct_consumption', 'consumption', '3'],
    ]);
    expect(lines[1]).toContain('"Welcome, ""friend"""');
    const viaAccept = await t.app.inject({ method: 'GET', url: `/v1/credit_transactions?customer=${c}`, headers: { authorization: `Bearer ${t.key}`, accept: 'text/csv' } });
    expect(viaAccept.body).toBe(res.body);
  });

  it('paginates transactions and filters them by type and date', async () => {
    const c = await customer();
    for (let i = 0; i < 3; i++) await grant(c, 10 + i);
    const p1 = await t.call({ method: 'GET', url: `/v1/credit_transactions?customer=${c}&limit=2` });
    expect(p1.body.data.map((x: { amount: number }) => x.amount)).toEqual([12, 11]);
    expect(p1.body.has_more).toBe(true);
    const p2 = await t.call({ method: 'GET', url: `/v1/credit_transactions?customer=${c}&limit=2&starting_after=${p1.body.data[1].id}` });
    expect(p2.body.data.map((x: { amount: number }) => x.amount)).toEqual([10]);
    const none = await t.call({ method: 'GET', url: `/v1/credit_transactions?customer=${c}&created[gt]=${NOW}` });
    expect(none.body.data).toEqual([]);
    const one = await t.call({ method: 'GET', url: `/v1/credit_transactions/${p2.body.data[0].id}` });
    expect(one.body).toMatchObject({ object: 'credit_transaction', type: 'grant', amount: 10 });
  });

  it('treats a unique violation on an event id as a race to retry, and other errors not', async () => {
    const db = t.testDb.db;
    await db.query(`INSERT INTO usage_events (id, customer, feature, quantity, "timestamp", credits, created) VALUES ('race-x', 'c', 'f', 1, now(), 0, now())`);
    const dup = await db.query(`INSERT INTO usage_events (id, customer, feature, quantity, "timestamp", credits, created) VALUES ('race-x', 'c', 'f', 1, now(), 0, now())`).catch((e: unknown) => e);
    expect(isRetryable(dup)).toBe(true);
    const other = await db.query(`INSERT INTO credit_features (key, name, created, updated) VALUES ('ai_message', 'x', now(), now())`).catch((e: unknown) => e);
    expect(isRetryable(other)).toBe(false);
  });

  it('refuses to update or delete ledger rows, and the check function finds nothing wrong', async () => {
    const db = t.testDb.db;
    await expect(db.query(`UPDATE credit_entries SET amount = amount + 1`)).rejects.toThrow(/append-only/);
    await expect(db.query(`DELETE FROM credit_transactions`)).rejects.toThrow(/append-only/);
    await expect(
      db.tx(async (q) => {
        await q.query(`INSERT INTO credit_transactions (id, type, idempotency_key, created) VALUES ('ctx_bad', 'adjustment', 'bad', now())`);
        await q.query(`INSERT INTO credit_entries (transaction, position, account, amount) VALUES ('ctx_bad', 1, 'cacct_promotions', -5), ('ctx_bad', 2, 'cacct_consumption', 4)`);
      }),
    ).rejects.toThrow(/does not balance/);
    // A committed transaction cannot gain entries, even balanced ones.
    const { rows } = await db.query<{ id: string }>(`SELECT id FROM credit_transactions ORDER BY id LIMIT 1`);
    await expect(
      db.query(`INSERT INTO credit_entries (transaction, position, account, amount) VALUES ($1, 1, 'cacct_promotions', -5), ($1, 2, 'cacct_consumption', 5)`, [rows[0]!.id]),
    ).rejects.toThrow(/duplicate key/);
    await expect(
      db.query(`INSERT INTO credit_entries (transaction, position, account, amount) VALUES ($1, 10, 'cacct_promotions', -5), ($1, 11, 'cacct_consumption', 5)`, [rows[0]!.id]),
    ).rejects.toThrow(/numbered 1..n/);
    expect(await checkLedger(db)).toEqual([]);
    // Entries pointing nowhere (no foreign keys on the hot path) are reported by the check.
    await db.tx(async (q) => {
      await q.query(`INSERT INTO credit_entries (transaction, position, account, amount) VALUES ('ctx_ghost', 1, 'cacct_nowhere', -5), ('ctx_ghost', 2, 'cacct_consumption', 5)`);
      expect((await checkLedger(q)).map((p) => p.problem).sort()).toEqual(['entry_unknown_account', 'entry_without_transaction', 'entry_without_transaction']);
      throw new Error('rollback');
    }).catch((err: Error) => expect(err.message).toBe('rollback'));
    // A cached lot balance that drifted from its entries is reported.
    await db.query(`UPDATE credit_grants SET remaining = remaining - 1 WHERE id = (SELECT id FROM credit_grants WHERE remaining > 0 ORDER BY id LIMIT 1)`);
    const problems = await checkLedger(db);
    expect(problems.map((p) => p.problem).sort()).toEqual(['grant_remaining_mismatch', 'wallet_balance_mismatch']);
    await db.query(`UPDATE credit_grants SET remaining = remaining + 1 WHERE id = $1`, [problems.find((p) => p.problem === 'grant_remaining_mismatch')!.ref]);
    expect(await checkLedger(db)).toEqual([]);
  });
});
