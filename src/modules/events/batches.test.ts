import { deflateSync, inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../../../test/helpers/billing.js';
import { createDueSubscriptions } from '../../../test/helpers/due-subscriptions.js';
import { runInRequest } from '../../core/context/index.js';
import { drainBilling } from '../subscriptions/jobs.js';
import { allEvents, EVENT_BATCH_MIN } from './batches.js';
import { recordEvents, type EventInput } from './service.js';
import { bloomHashes, bloomMayHold } from './domain/bloom.js';

// Events written as one compressed row per large group outside a request (migration 0049, ADR 0007
// option 5) read back exactly as rows of `events` do: the same objects, through the same list filters,
// pages and retrieval, and the same notification-inbox rows.

let t: Awaited<ReturnType<typeof createBillingApp>>;
beforeAll(async () => {
  t = await createBillingApp('2026-03-01T00:00:00Z');
});
afterAll(() => t.close());

const get = async (url: string) => {
  const res = await t.call({ method: 'GET', url });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
};

/** A group of events of several types, customers and objects (invoices with send_invoice or not). */
function group(tag: string, n: number): EventInput[] {
  const types = ['invoice.created', 'invoice.finalized', 'invoice.paid', 'customer.subscription.updated', 'payment_intent.succeeded'];
  return Array.from({ length: n }, (_, i) => {
    const type = types[i % types.length]!;
    const object = { id: `obj_${tag}_${i % 7}`, object: type.split('.')[0], n: i, collection_method: i % 3 === 0 ? 'send_invoice' : 'charge_automatically', note: 'line\nwith "quotes" — ü' };
    return { type, object, customerId: `cus_${tag}_${i % 4}`, ...(i % 5 === 3 ? { previousAttributes: { n: i - 1, gone: null } } : {}) };
  });
}

describe('event batches', () => {
  it('store a group whole: the API lists, filters, pages and retrieves it as it does rows', async () => {
    const now = t.clock.now();
    // Rows before, a batch, rows between, a batch, rows after: ids interleave in one order.
    const inRequest = (events: EventInput[]) => runInRequest({ id: 'req_test', idempotencyKey: null }, () => t.testDb.db.tx((q) => recordEvents(q, now, events)));
    await inRequest(group('a', 12));
    await t.testDb.db.tx((q) => recordEvents(q, now, group('b', EVENT_BATCH_MIN + 10)));
    await inRequest(group('c', 9));
    await t.testDb.db.tx((q) => recordEvents(q, now, group('d', EVENT_BATCH_MIN)));
    await inRequest(group('e', 5));
    const { rows: batches } = await t.testDb.db.query<{ n: number }>(`SELECT n FROM event_batches ORDER BY first_event`);
    expect(batches.map((b) => b.n)).toEqual([EVENT_BATCH_MIN + 10, EVENT_BATCH_MIN]);
    const { rows: plain } = await t.testDb.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE customer_id LIKE 'cus\\_%\\_%'`);
    expect(plain[0]!.n).toBe(12 + 9 + 5);

    // Every event once, newest first, through pages of 7 in both directions.
    const everything = await allEvents(t.testDb.db, { customer: undefined });
    const ours = everything.filter((e) => /^cus_[a-e]_/.test(e.customer_id ?? ''));
    expect(ours.length).toBe(12 + EVENT_BATCH_MIN + 10 + 9 + EVENT_BATCH_MIN + 5);
    const expected = [...ours].reverse().map((e) => e.id);
    const forward: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await get(`/v1/events?limit=7${cursor ? `&starting_after=${cursor}` : ''}`);
      forward.push(...page.data.map((e: { id: string }) => e.id));
      if (!page.has_more) break;
      cursor = page.data.at(-1).id;
    }
    expect(forward.filter((id) => expected.includes(id))).toEqual(expected);
    const backward: string[] = [];
    cursor = forward.at(-1);
    backward.push(cursor!);
    for (;;) {
      const page = await get(`/v1/events?limit=7&ending_before=${cursor}`);
      backward.unshift(...page.data.map((e: { id: string }) => e.id));
      if (!page.has_more) break;
      cursor = page.data[0].id;
    }
    expect(backward).toEqual(forward);

    // Filters: each matches what the events say, whichever storage holds them.
    const check = async (query: string, keep: (e: (typeof ours)[number]) => boolean) => {
      const listed: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await get(`/v1/events?limit=20&${query}${after ? `&starting_after=${after}` : ''}`);
        listed.push(...page.data.map((e: { id: string }) => e.id));
        if (!page.has_more) break;
        after = page.data.at(-1).id;
      }
      expect(listed.filter((id) => expected.includes(id)), query).toEqual(expected.filter((id) => keep(ours.find((e) => e.id === id)!)));
    };
    await check('type=invoice.paid', (e) => e.type === 'invoice.paid');
    await check('type=invoice.*', (e) => e.type.startsWith('invoice.'));
    await check('types[]=payment_intent.succeeded&types[]=invoice.created', (e) => ['payment_intent.succeeded', 'invoice.created'].includes(e.type));
    await check('customer=cus_b_2', (e) => e.customer_id === 'cus_b_2');
    await check('object_id=obj_d_3', (e) => e.object_id === 'obj_d_3');
    await check(`created=${Math.floor(now.getTime() / 1000)}`, () => true);

    // Retrieval: the same object, previous attributes and request as the input, for a batched event.
    const inBatch = ours.find((e) => e.customer_id === 'cus_b_3' && e.type === 'customer.subscription.updated')!;
    const one = await get(`/v1/events/${inBatch.id}`);
    const input = group('b', EVENT_BATCH_MIN + 10).find((e, i) => e.type === 'customer.subscription.updated' && `cus_b_${i % 4}` === 'cus_b_3')!;
    expect(one).toMatchObject({ id: inBatch.id, object: 'event', type: 'customer.subscription.updated', created: Math.floor(now.getTime() / 1000), request: { id: null, idempotency_key: null } });
    expect(one.data).toEqual({ object: input.object, ...(input.previousAttributes ? { previous_attributes: input.previousAttributes } : {}) });
    expect((await t.call({ method: 'GET', url: '/v1/events/evt_missing' })).status).toBe(404);
    expect((await t.call({ method: 'GET', url: `/v1/events?starting_after=evt_missing` })).body.error).toMatchObject({ code: 'resource_missing', param: 'starting_after' });
  });

  it('store an object two events share once, and still read batches written before that', async () => {
    const now = t.clock.now();
    const events = group('shared', EVENT_BATCH_MIN);
    // invoice.paid and invoice.payment_succeeded hold one object, as the payment pass writes them.
    const shared = { id: 'in_shared', object: 'invoice', status: 'paid', marker: 'only-once' };
    events.push({ type: 'invoice.paid', object: shared, customerId: 'cus_shared_0' }, { type: 'invoice.payment_succeeded', object: shared, customerId: 'cus_shared_0', previousAttributes: { status: 'open' } });
    await t.testDb.db.tx((q) => recordEvents(q, now, events));
    const { rows } = await t.testDb.db.query<{ id: string; data: Uint8Array; first_event: string }>(`SELECT id, data, first_event FROM event_batches WHERE types @> '{invoice.payment_succeeded}' AND n = $1`, [EVENT_BATCH_MIN + 2]);
    expect(rows).toHaveLength(1);
    const json = inflateSync(rows[0]!.data).toString('utf8');
    expect(json.split('only-once').length - 1).toBe(1);
    const read = (await allEvents(t.testDb.db)).filter((e) => e.object_id === 'in_shared');
    expect(read.map((e) => [e.type, e.data])).toEqual([
      ['invoice.paid', { object: shared }],
      ['invoice.payment_succeeded', { object: shared, previous_attributes: { status: 'open' } }],
    ]);
    // The same row as a batch written before objects were shared: each event with its own object.
    const old = (JSON.parse(json) as { data: { object?: unknown; same_object_as?: number; previous_attributes?: unknown } }[]).map((e, _i, all) =>
      e.data.same_object_as === undefined ? e : { ...e, data: { object: all[e.data.same_object_as]!.data.object, ...(e.data.previous_attributes ? { previous_attributes: e.data.previous_attributes } : {}) } },
    );
    await t.testDb.db.query(`UPDATE event_batches SET data = $2 WHERE id = $1`, [rows[0]!.id, deflateSync(JSON.stringify(old))]);
    expect(inflateSync((await t.testDb.db.query<{ data: Uint8Array }>(`SELECT data FROM event_batches WHERE id = $1`, [rows[0]!.id])).rows[0]!.data).toString('utf8').split('only-once').length - 1).toBe(2);
    const again = (await allEvents(t.testDb.db)).filter((e) => e.object_id === 'in_shared');
    expect(again.map((e) => [e.type, e.data])).toEqual(read.map((e) => [e.type, e.data]));
    expect((await get(`/v1/events/${again[1]!.id}`)).data).toEqual({ object: shared, previous_attributes: { status: 'open' } });
  });

  it('search a customer or an object only in the batches whose key filter may hold it', async () => {
    const q = t.testDb.db;
    const at = new Date('2026-03-02T12:00:00Z');
    await q.tx((tx) => recordEvents(tx, at, group('k1', EVENT_BATCH_MIN)));
    await q.tx((tx) => recordEvents(tx, at, group('k2', EVENT_BATCH_MIN)));
    const { rows } = await q.query<{ keys: Uint8Array }>(`SELECT keys FROM event_batches WHERE created = $1 ORDER BY first_event`, [at]);
    expect(rows.map((r) => r.keys.length)).toEqual([64, 64]);
    const holding = async (key: string) => {
      const [h1, h2] = bloomHashes(key);
      return (await q.query(`SELECT 1 FROM event_batches WHERE created = $1 AND recur_bloom_has(keys, $2, $3)`, [at, h1, h2])).rows.length;
    };
    expect([await holding('cus_k1_0'), await holding('obj_k2_6'), await holding('cus_k1_3'), await holding('cus_k3_0'), await holding('obj_k1_7')]).toEqual([1, 1, 1, 0, 0]);
    // SQL tests the bits Node set, the way Node tests them: members and 300 others, one answer each.
    const probes = [...Array.from({ length: 300 }, (_, i) => `cus_probe_${i}`), 'cus_k1_0', 'obj_k1_3', 'cus_k2_1'];
    const hashes = probes.map(bloomHashes);
    const { rows: answers } = await q.query<{ h: boolean[] }>(
      `SELECT array_agg(recur_bloom_has($1, u.h1, u.h2) ORDER BY u.n) AS h FROM unnest($2::bigint[], $3::bigint[]) WITH ORDINALITY AS u(h1, h2, n)`,
      [rows[0]!.keys, hashes.map((h) => h[0]), hashes.map((h) => h[1])],
    );
    const expected = probes.map((k) => bloomMayHold(rows[0]!.keys, k));
    expect(answers[0]!.h).toEqual(expected);
    expect(expected.slice(-3)).toEqual([true, true, false]);
    // Through the API: a customer's and an object's events from these batches, newest first.
    const byCustomer = await get(`/v1/events?customer=cus_k2_1&created[gte]=${at.getTime() / 1000}&limit=100`);
    expect(byCustomer.data.map((e: { data: { object: { n: number } } }) => e.data.object.n)).toEqual([49, 45, 41, 37, 33, 29, 25, 21, 17, 13, 9, 5, 1]);
    const byObject = await get(`/v1/events?object_id=obj_k1_3&limit=100`);
    expect(byObject.data.map((e: { data: { object: { n: number } } }) => e.data.object.n)).toEqual([45, 38, 31, 24, 17, 10, 3]);
  });

  it('feed the notification inbox as the trigger on rows does', async () => {
    const now = t.clock.now();
    const events = group('inbox', EVENT_BATCH_MIN);
    await runInRequest({ id: 'req_inbox', idempotencyKey: null }, () => t.testDb.db.tx((q) => recordEvents(q, now, events)));
    const asRows = await inboxOf('cus_inbox_%');
    const again = group('inbox2', EVENT_BATCH_MIN);
    await t.testDb.db.tx((q) => recordEvents(q, now, again));
    const asBatch = await inboxOf('cus_inbox2_%');
    // invoice.paid always, invoice.finalized only for send_invoice; subscription updates only in dunning.
    expect(asRows.length).toBeGreaterThan(10);
    expect(asBatch).toEqual(asRows.map((r) => r.replaceAll('inbox_', 'inbox2_')));
  });

  it('hold a worker pass: renewals read back through the API, one inbox row per receipt', async () => {
    const price = await t.priceId('community_monthly');
    const due = new Date('2026-03-05T00:00:00Z');
    await t.testDb.db.tx((q) => createDueSubscriptions(q, { n: 60, dueAt: due, priceId: price, prefix: 'batch' }));
    const deps = { ...t.deps, config: { ...t.deps.config, finalizeDelaySeconds: 0 } };
    await drainBilling(t.testDb.db, deps, { clock: null }, new Date('2026-03-05T00:00:10Z'));
    const { rows } = await t.testDb.db.query<{ n: number; types: string[] }>(`SELECT n, types FROM event_batches WHERE created = '2026-03-05T00:00:10Z' ORDER BY first_event`);
    // Each group the passes write: the renewal's invoices, then its subscriptions; the finalisation;
    // the payment's four events per invoice.
    expect(rows.map((r) => [r.n, [...r.types].sort()])).toEqual([
      [60, ['invoice.created']],
      [60, ['customer.subscription.updated']],
      [60, ['invoice.finalized']],
      [240, ['invoice.paid', 'invoice.payment_succeeded', 'payment_intent.created', 'payment_intent.succeeded']],
    ]);
    const sub = 'sub_batch000000007';
    const subEvents = await get(`/v1/events?object_id=${sub}&type=customer.subscription.updated`);
    expect(subEvents.data.map((e: { data: { object: { current_period_start: number } } }) => e.data.object.current_period_start)).toEqual([Date.parse('2026-03-05T00:00:00Z') / 1000]);
    const inv = subEvents.data[0].data.object.latest_invoice as string;
    const invEvents = await get(`/v1/events?object_id=${inv}`);
    expect(invEvents.data.map((e: { type: string; data: { object: { status: string } } }) => [e.type, e.data.object.status])).toEqual([
      ['invoice.payment_succeeded', 'paid'],
      ['invoice.paid', 'paid'],
      ['invoice.finalized', 'open'],
      ['invoice.created', 'draft'],
    ]);
    // The receipt names the payment intent that paid the invoice, as the invoice itself does.
    const intent = (await get(`/v1/payment_intents?invoice=${inv}`)).data;
    expect(intent.map((p: { status: string }) => p.status)).toEqual(['succeeded']);
    expect(invEvents.data[0].data.object.payment_intent).toBe(intent[0].id);
    expect((await get(`/v1/invoices/${inv}`)).payment_intent).toBe(intent[0].id);
    const { rows: inbox } = await t.testDb.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM notification_inbox WHERE type = 'invoice.paid' AND customer_id LIKE 'cus\\_batch%'`);
    expect(inbox[0]!.n).toBe(60);
  });
});

async function inboxOf(customerLike: string): Promise<string[]> {
  const { rows } = await t.testDb.db.query<{ type: string; object_id: string; customer_id: string }>(
    `SELECT i.type, i.object_id, i.customer_id FROM notification_inbox i WHERE i.customer_id LIKE $1 ORDER BY i.event_id`,
    [customerLike],
  );
  return rows.map((r) => `${r.type} ${r.object_id} ${r.customer_id}`);
}
