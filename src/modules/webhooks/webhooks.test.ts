import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { paypalWebhookHeaders } from '../../../test/fakes/paypal-server.js';
import { createPaymentsTestApp, openInvoice, WEBHOOK_SECRETS, type PaymentsTestApp } from '../../../test/fakes/payments-app.js';
import { cardObject, customerObject, disputeObject, paymentIntentObject, paymentMethodObject, stripeEvent } from '../../../test/fakes/stripe-events.js';
import { toUnix } from '../../core/time/index.js';
import { decodeVaultToken } from '../payments/codec.js';
import { parseStripeToken } from '../payments/stripe-gateway.js';

// Inbound webhooks end to end: POST /webhooks/stripe with signatures made by the official SDK's
// generateTestHeaderString, POST /webhooks/paypal verified by PayPal's verify-webhook-signature API
// (the local PayPal server), the inbox, the worker, replay, and the effects: disputes, late payment
// results, card expiry, mirrors of Stripe objects — applied once, in any order.

let t: PaymentsTestApp;
beforeAll(async () => {
  t = await createPaymentsTestApp({ env: { RECUR_WEBHOOK_MAX_ATTEMPTS: '3', STRIPE_TIMEOUT_MS: '1500' } });
});
afterAll(() => t.close());
beforeEach(() => {
  t.stripe.clearFaults();
});

const now = () => toUnix(t.clock.now());

async function postStripe(body: string, signature: string | null) {
  return t.call({ method: 'POST', url: '/webhooks/stripe', key: null, payload: body, headers: { 'content-type': 'application/json', ...(signature === null ? {} : { 'stripe-signature': signature }) } });
}

async function deliver(event: object) {
  const body = JSON.stringify(event);
  return postStripe(body, t.stripeSignature(body));
}

async function inboxCount(where = 'true'): Promise<number> {
  return (await t.testDb.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM webhook_inbox WHERE ${where}`)).rows[0]!.n;
}

async function eventCount(type: string, objectId?: string): Promise<number> {
  const { rows } = await t.testDb.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE type = $1 AND ($2::text IS NULL OR object_id = $2)`, [type, objectId ?? null]);
  return rows[0]!.n;
}

/** A customer paid by card through the router; returns the Recur ids and Stripe's PaymentIntent id. */
async function paidInvoice(amount = 2000) {
  const cus = (await t.call({ method: 'POST', url: '/v1/customers', payload: { email: 'hook@example.com' } })).body.id as string;
  const pm = (await t.call({ method: 'POST', url: '/v1/payment_methods', payload: { type: 'card', card: { number: '4242424242424242', exp_month: 10, exp_year: 2031 } } })).body.id as string;
  await t.call({ method: 'POST', url: `/v1/payment_methods/${pm}/attach`, payload: { customer: cus } });
  const inv = await openInvoice(t, cus, amount);
  const paid = await t.call({ method: 'POST', url: `/v1/invoices/${inv}/pay`, payload: { payment_method: pm } });
  expect(paid.body.status).toBe('paid');
  const pi = (await t.call({ method: 'GET', url: `/v1/payment_intents?invoice=${inv}` })).body.data[0];
  const { rows } = await t.testDb.db.query<{ gateway_token: string }>('SELECT gateway_token FROM payment_methods WHERE id = $1', [pm]);
  const stripeIds = parseStripeToken(decodeVaultToken(rows[0]!.gateway_token)!.tokens.stripe!)!;
  return { cus, pm, inv, pi, stripePi: pi.latest_charge as string, stripeIds };
}

describe('Stripe signatures', () => {
  it('accepts the current and the previous secret (rotation) and any valid v1 among several', async () => {
    const e1 = JSON.stringify(stripeEvent('plan.created', { id: 'plan_1', object: 'plan' }, now()));
    expect((await postStripe(e1, t.stripeSignature(e1))).status).toBe(200);
    const e2 = JSON.stringify(stripeEvent('plan.created', { id: 'plan_2', object: 'plan' }, now()));
    expect((await postStripe(e2, t.stripeSignature(e2, { secret: WEBHOOK_SECRETS[0] }))).status).toBe(200);
    const e3 = JSON.stringify(stripeEvent('plan.created', { id: 'plan_3', object: 'plan' }, now()));
    const good = t.stripeSignature(e3);
    const v1 = /v1=([0-9a-f]{64})/.exec(good)![1]!;
    const several = `t=${now()},v1=${'0'.repeat(64)},v0=${'1'.repeat(64)},v1=${v1}`;
    expect((await postStripe(e3, several)).status).toBe(200);
  });

  it('rejects tampered, stale, missing, unsigned-by-us and malformed signatures with 400, storing nothing', async () => {
    const before = await inboxCount();
    const body = JSON.stringify(stripeEvent('customer.created', customerObject({ id: 'cus_tamper', name: 'A', created: now() }), now()));
    const sig = t.stripeSignature(body);
    const tampered = await postStripe(body.replace('"A"', '"B"'), sig);
    expect(tampered.status).toBe(400);
    expect(tampered.body.error).toMatchObject({ type: 'invalid_request_error', code: 'signature_signature_mismatch' });
    const stale = await postStripe(body, t.stripeSignature(body, { timestamp: now() - 301 }));
    expect(stale.body.error.code).toBe('signature_timestamp_out_of_tolerance');
    expect((await postStripe(body, t.stripeSignature(body, { timestamp: now() - 299 }))).status).toBe(200); // within 300 s
    expect((await postStripe(body, null)).body.error.code).toBe('signature_missing_header');
    expect((await postStripe(body, t.stripeSignature(body, { secret: 'whsec_someone_else' }))).body.error.code).toBe('signature_signature_mismatch');
    expect((await postStripe(body, `t=${now()},v0=${'a'.repeat(64)}`)).body.error.code).toBe('signature_no_v1_signature');
    expect((await postStripe(body, 'v1=abc')).body.error.code).toBe('signature_malformed_header');
    expect(await inboxCount()).toBe(before + 1); // only the one valid delivery
  });
});

describe('the inbox', () => {
  it('the same event delivered 5 times concurrently is stored once and applied once', async () => {
    const { pi } = await paidInvoice();
    const evt = stripeEvent('charge.dispute.created', disputeObject({ id: 'dp_conc1', paymentIntent: pi.latest_charge, amount: 2000, status: 'needs_response', created: now() }), now());
    const body = JSON.stringify(evt);
    const sig = t.stripeSignature(body);
    const answers = await Promise.all(Array.from({ length: 5 }, () => postStripe(body, sig)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(answers.filter((a) => a.body.duplicate === false)).toHaveLength(1);
    expect(await inboxCount(`event_id = '${evt.id}'`)).toBe(1);
    await t.drainInbox();
    // Replaying the processed event changes nothing.
    const row = (await t.call({ method: 'GET', url: `/v1/webhook_inbox?type=charge.dispute.created` })).body.data.find((r: { event_id: string }) => r.event_id === evt.id);
    expect(row).toMatchObject({ status: 'processed', result: 'applied', attempts: 1 });
    await t.call({ method: 'POST', url: `/v1/webhook_inbox/${evt.id}/replay` });
    await t.drainInbox();
    expect((await t.call({ method: 'GET', url: `/v1/webhook_inbox/${row.id}` })).body).toMatchObject({ status: 'processed', result: 'stale', payload: { id: evt.id } });
    const disputes = (await t.call({ method: 'GET', url: `/v1/disputes?payment_intent=${pi.id}` })).body.data;
    expect(disputes).toHaveLength(1);
    expect(await eventCount('charge.dispute.created', disputes[0].id)).toBe(1);
  });

  it('unknown event types are stored, acknowledged and marked ignored', async () => {
    const evt = stripeEvent('issuing_card.created', { id: 'ic_1', object: 'issuing.card' }, now());
    const res = await deliver(evt);
    expect(res.status).toBe(200);
    await t.drainInbox();
    const row = (await t.call({ method: 'GET', url: '/v1/webhook_inbox?source=stripe&type=issuing_card.created' })).body.data[0];
    expect(row).toMatchObject({ event_id: evt.id, status: 'processed', result: 'ignored' });
  });

  it('a successful gateway charge carrying a Recur key that matches no attempt is reported', async () => {
    const evt = stripeEvent('payment_intent.succeeded', paymentIntentObject({ id: 'pi_orphan1', amount: 990, status: 'succeeded', customer: 'cus_x', key: 'in_gone:attempt:1', created: now() }), now());
    await deliver(evt);
    await t.drainInbox();
    const e = (await t.call({ method: 'GET', url: '/v1/events?type=payment.unmatched' })).body.data[0];
    expect(e.data.object).toEqual({ id: 'pi_orphan1', object: 'gateway_payment', gateway: 'stripe', idempotency_key: 'in_gone:attempt:1', amount: 990, currency: 'usd' });
  });

  it('a failing event is retried with backoff, then dead-lettered; replay processes it again', async () => {
    // A dispute with a negative amount violates a constraint: the handler fails, its work is rolled back.
    const evt = stripeEvent('charge.dispute.created', { ...disputeObject({ id: 'dp_bad', paymentIntent: 'pi_none', amount: 10, status: 'needs_response', created: now() }), amount: -5 }, now());
    await deliver(evt);
    await t.drainInbox();
    let row = (await t.call({ method: 'GET', url: `/v1/webhook_inbox?type=charge.dispute.created&status=failed` })).body.data.find((r: { event_id: string }) => r.event_id === evt.id);
    expect(row).toMatchObject({ attempts: 1, next_attempt_at: now() + 30 });
    expect(row.last_error).toContain('disputes');
    t.clock.advance(30_000);
    await t.drainInbox();
    row = (await t.call({ method: 'GET', url: `/v1/webhook_inbox/${row.id}` })).body;
    expect(row).toMatchObject({ status: 'failed', attempts: 2, next_attempt_at: now() + 60 });
    t.clock.advance(60_000);
    await t.drainInbox();
    row = (await t.call({ method: 'GET', url: `/v1/webhook_inbox/${row.id}` })).body;
    expect(row).toMatchObject({ status: 'dead', attempts: 3, next_attempt_at: null });
    expect((await t.testDb.db.query(`SELECT 1 FROM disputes WHERE gateway_dispute_id = 'dp_bad'`)).rowCount).toBe(0);

    // An operator fixes the cause, then replays every dead-lettered event.
    await t.testDb.db.query(`UPDATE webhook_inbox SET payload = jsonb_set(payload::jsonb, '{data,object,amount}', '10')::json WHERE id = $1`, [row.id]);
    const replay = await t.call({ method: 'POST', url: '/v1/webhook_inbox/replay_failed' });
    expect(replay.body.data).toContain(row.id);
    await t.drainInbox();
    expect((await t.call({ method: 'GET', url: `/v1/webhook_inbox/${row.id}` })).body).toMatchObject({ status: 'processed', result: 'applied' });
  });
});

describe('handlers, in any order', () => {
  it('a dispute delivered in reverse order ends lost; the payment, invoice and customer are flagged; events once', async () => {
    const { pi, inv, cus } = await paidInvoice(2600);
    const t0 = now();
    const base = { id: 'dp_rev1', paymentIntent: pi.latest_charge as string, amount: 2600, created: t0 };
    const created = stripeEvent('charge.dispute.created', disputeObject({ ...base, status: 'needs_response' }), t0);
    const updated = stripeEvent('charge.dispute.updated', disputeObject({ ...base, status: 'under_review' }), t0 + 3600);
    const closed = stripeEvent('charge.dispute.closed', disputeObject({ ...base, status: 'lost' }), t0 + 7200);
    // Each delivered and processed before the next arrives: the worker sees them newest first.
    for (const e of [closed, updated, created]) {
      expect((await deliver(e)).status).toBe(200);
      await t.drainInbox();
    }

    const d = (await t.call({ method: 'GET', url: `/v1/disputes?payment_intent=${pi.id}` })).body.data[0];
    expect(d).toMatchObject({ object: 'dispute', status: 'lost', amount: 2600, currency: 'usd', reason: 'fraudulent', gateway: 'stripe', gateway_dispute_id: 'dp_rev1', invoice: inv, customer: cus, charge: `ch_${(pi.latest_charge as string).slice(3)}` });
    expect(d.evidence_details.due_by).toBe(t0 + 7 * 86400);
    expect(await eventCount('charge.dispute.created', d.id)).toBe(1);
    expect(await eventCount('charge.dispute.closed', d.id)).toBe(1);
    expect(await eventCount('charge.dispute.updated', d.id)).toBe(0);
    expect((await t.call({ method: 'GET', url: `/v1/payment_intents/${pi.id}` })).body.disputed).toBe(true);
    const flags = await t.testDb.db.query<{ inv: boolean; cus: boolean }>('SELECT i.disputed AS inv, c.disputed AS cus FROM invoices i JOIN customers c ON c.id = i.customer WHERE i.id = $1', [inv]);
    expect(flags.rows[0]).toEqual({ inv: true, cus: true });
    expect((await t.call({ method: 'GET', url: '/v1/disputes?status=lost' })).body.data.map((x: { id: string }) => x.id)).toContain(d.id);
    const results = (await t.call({ method: 'GET', url: '/v1/webhook_inbox?type=charge.dispute.created&limit=100' })).body.data;
    expect(results.find((r: { event_id: string }) => r.event_id === created.id).result).toBe('stale');
  });

  it('in order, the same dispute moves open → under review → won, one event per step', async () => {
    const { pi } = await paidInvoice(1000);
    const t0 = now();
    const base = { id: 'dp_fwd1', paymentIntent: pi.latest_charge as string, amount: 1000, created: t0 };
    await deliver(stripeEvent('charge.dispute.created', disputeObject({ ...base, status: 'needs_response' }), t0));
    await t.drainInbox();
    await deliver(stripeEvent('charge.dispute.updated', disputeObject({ ...base, status: 'under_review' }), t0 + 60));
    await deliver(stripeEvent('charge.dispute.closed', disputeObject({ ...base, status: 'won' }), t0 + 120));
    await t.drainInbox();
    const d = (await t.call({ method: 'GET', url: `/v1/disputes?payment_intent=${pi.id}` })).body.data[0];
    expect(d).toMatchObject({ status: 'won', closed_at: now() });
    expect([await eventCount('charge.dispute.created', d.id), await eventCount('charge.dispute.updated', d.id), await eventCount('charge.dispute.closed', d.id)]).toEqual([1, 1, 1]);
  });

  it('a dispute about a payment Recur does not know yet is stored unlinked, and linked by a replay once it does', async () => {
    const { pi } = await paidInvoice(700);
    const evt = stripeEvent('charge.dispute.created', disputeObject({ id: 'dp_early', paymentIntent: 'pi_notyetknown', amount: 700, status: 'needs_response', created: now() }), now());
    await deliver(evt);
    await t.drainInbox();
    expect((await t.call({ method: 'GET', url: '/v1/disputes?status=needs_response&limit=100' })).body.data.find((d: { gateway_dispute_id: string }) => d.gateway_dispute_id === 'dp_early')).toMatchObject({ payment_intent: null });
    // The payment becomes known (e.g. a late settlement recorded its reference).
    await t.testDb.db.query(`UPDATE payment_intents SET gateway_ref = 'stripe:pi_notyetknown' WHERE id = $1`, [pi.id]);
    await t.call({ method: 'POST', url: `/v1/webhook_inbox/${evt.id}/replay` });
    await t.drainInbox();
    const d = (await t.call({ method: 'GET', url: `/v1/disputes?payment_intent=${pi.id}` })).body.data[0];
    expect(d).toMatchObject({ gateway_dispute_id: 'dp_early', status: 'needs_response' });
    expect(await eventCount('charge.dispute.created', d.id)).toBe(1);
    expect((await t.call({ method: 'GET', url: `/v1/payment_intents/${pi.id}` })).body.disputed).toBe(true);
  });

  it('Stripe objects are mirrored at their newest version whatever the delivery order', async () => {
    const t0 = now();
    const v1 = stripeEvent('customer.updated', customerObject({ id: 'cus_mirror1', name: 'First', created: t0 }), t0 + 10);
    const v2 = stripeEvent('customer.updated', customerObject({ id: 'cus_mirror1', name: 'Second', created: t0 }), t0 + 20);
    const del = stripeEvent('customer.deleted', customerObject({ id: 'cus_mirror1', name: 'Second', created: t0 }), t0 + 30);
    const sub1 = stripeEvent('customer.subscription.updated', { id: 'sub_m1', object: 'subscription', status: 'active' }, t0 + 40);
    const sub2 = stripeEvent('customer.subscription.deleted', { id: 'sub_m1', object: 'subscription', status: 'canceled' }, t0 + 40);
    for (const e of [del, v2, sub2, v1, sub1]) {
      await deliver(e);
      await t.drainInbox();
    }
    const { rows } = await t.testDb.db.query<{ object_id: string; deleted: boolean; name: string; status: string }>(
      `SELECT object_id, deleted, data->>'name' AS name, data->>'status' AS status FROM gateway_objects WHERE object_id IN ('cus_mirror1', 'sub_m1') ORDER BY object_id`,
    );
    expect(rows).toEqual([
      { object_id: 'cus_mirror1', deleted: true, name: 'Second', status: null },
      { object_id: 'sub_m1', deleted: true, name: null, status: 'canceled' },
    ]);
    for (const type of ['invoice.created', 'invoice.finalized', 'invoice.payment_succeeded', 'invoice.payment_failed', 'customer.subscription.created', 'customer.subscription.trial_will_end', 'customer.created']) {
      await deliver(stripeEvent(type, { id: `${type}_obj`, object: type.split('.')[0] }, t0));
    }
    await t.drainInbox();
    expect(await inboxCount(`status = 'processed' AND result = 'applied' AND type LIKE 'invoice.%'`)).toBeGreaterThanOrEqual(4);
  });

  it('card expiry: payment_method.updated (newest wins) updates the saved card; customer.source.expiring writes an event', async () => {
    const { pm, stripeIds } = await paidInvoice(500);
    const t0 = now();
    const older = stripeEvent('payment_method.updated', paymentMethodObject({ id: stripeIds.paymentMethod, customer: stripeIds.customer, expMonth: 1, expYear: 2032, created: t0 }), t0 + 5);
    const newer = stripeEvent('payment_method.updated', paymentMethodObject({ id: stripeIds.paymentMethod, customer: stripeIds.customer, expMonth: 7, expYear: 2034, created: t0 }), t0 + 50);
    await deliver(newer);
    await t.drainInbox();
    await deliver(older);
    await t.drainInbox();
    const card = (await t.call({ method: 'GET', url: `/v1/payment_methods/${pm}` })).body.card;
    expect([card.exp_month, card.exp_year]).toEqual([7, 2034]);
    expect(await eventCount('payment_method.updated', pm)).toBe(1);

    await deliver(stripeEvent('customer.source.expiring', cardObject({ id: 'card_exp1', customer: stripeIds.customer, expMonth: 7, expYear: 2034 }), t0 + 60));
    await t.drainInbox();
    expect(await eventCount('customer.source.expiring', pm)).toBe(1);
  });

  it('a late payment_intent.succeeded settles an attempt left processing and pays its invoice, without a new charge', async () => {
    const cus = (await t.call({ method: 'POST', url: '/v1/customers', payload: { email: 'late@example.com' } })).body.id;
    const pm = (await t.call({ method: 'POST', url: '/v1/payment_methods', payload: { type: 'card', card: { number: '4242424242424242', exp_month: 10, exp_year: 2031 } } })).body.id;
    await t.call({ method: 'POST', url: `/v1/payment_methods/${pm}/attach`, payload: { customer: cus } });
    const inv = await openInvoice(t, cus, 4100);
    t.stripe.inject((r) => r.method === 'POST' && r.path === '/v1/payment_intents', { kind: 'delay_after_work', delayMs: 3000 });
    t.stripe.inject((r) => r.method === 'GET' && r.path === '/v1/payment_intents', { kind: 'status', status: 503, body: { error: { type: 'api_error', message: 'down' } } });
    const first = await t.call({ method: 'POST', url: `/v1/invoices/${inv}/pay`, payload: { payment_method: pm } });
    const piId = first.body.error.payment_intent.id;
    expect(first.body.error.payment_intent.status).toBe('processing');
    const stripePi = t.stripe.charges().find((p) => (p.metadata as Record<string, string>).recur_idempotency_key === `${inv}:attempt:1`)!;
    const chargesBefore = t.stripe.charges().length;

    const evt = stripeEvent('payment_intent.succeeded', paymentIntentObject({ id: stripePi.id, amount: 4100, status: 'succeeded', customer: String(stripePi.customer), key: `${inv}:attempt:1`, created: now() }), now());
    await deliver(evt);
    await t.drainInbox();
    expect((await t.call({ method: 'GET', url: `/v1/payment_intents/${piId}` })).body).toMatchObject({ status: 'succeeded', gateway: 'stripe', latest_charge: stripePi.id });
    expect((await t.call({ method: 'GET', url: `/v1/invoices/${inv}` })).body.status).toBe('paid');
    expect(t.stripe.charges().length).toBe(chargesBefore);

    // A stale failure for the same payment arriving afterwards changes nothing.
    await deliver(stripeEvent('payment_intent.payment_failed', paymentIntentObject({ id: stripePi.id, amount: 4100, status: 'requires_payment_method', customer: String(stripePi.customer), key: `${inv}:attempt:1`, created: now() - 60, lastError: { type: 'card_error', code: 'card_declined', decline_code: 'generic_decline', message: 'no' } }), now() - 60));
    await t.drainInbox();
    expect((await t.call({ method: 'GET', url: `/v1/payment_intents/${piId}` })).body.status).toBe('succeeded');
    expect((await t.call({ method: 'GET', url: '/v1/webhook_inbox?type=payment_intent.payment_failed' })).body.data[0].result).toBe('stale');
  });
});

describe('PayPal webhooks', () => {
  async function postPayPal(body: string, headers: Record<string, string>) {
    return t.call({ method: 'POST', url: '/webhooks/paypal', key: null, payload: body, headers: { 'content-type': 'application/json', ...headers } });
  }

  it('verified through PayPal’s API; a bad or missing signature is refused and nothing stored', async () => {
    const body = JSON.stringify({ id: 'WH-PP-1', event_version: '1.0', create_time: t.clock.now().toISOString(), resource_type: 'checkout-order', event_type: 'CHECKOUT.ORDER.APPROVED', resource: { id: 'ORDER1' } });
    const ok = await postPayPal(body, paypalWebhookHeaders(body));
    expect(ok.status).toBe(200);
    expect(t.paypal.calls('POST', '/v1/notifications/verify-webhook-signature').length).toBeGreaterThan(0);
    const before = await inboxCount();
    const tampered = await postPayPal(body.replace('ORDER1', 'ORDER2'), paypalWebhookHeaders(body));
    expect(tampered.status).toBe(400);
    expect(tampered.body.error.code).toBe('signature_mismatch');
    expect((await postPayPal(body, {})).body.error.code).toBe('signature_missing_header');
    expect(await inboxCount()).toBe(before);
    expect((await postPayPal(body, paypalWebhookHeaders(body))).body).toEqual({ received: true, duplicate: true });
  });

  it('a PayPal dispute on a payment that failed over to PayPal is recorded against it', async () => {
    const cus = (await t.call({ method: 'POST', url: '/v1/customers', payload: { email: 'pp@example.com' } })).body.id;
    const pm = (await t.call({ method: 'POST', url: '/v1/payment_methods', payload: { type: 'card', card: { number: '4242424242424242', exp_month: 10, exp_year: 2031 } } })).body.id;
    await t.call({ method: 'POST', url: `/v1/payment_methods/${pm}/attach`, payload: { customer: cus } });
    t.stripe.inject((r) => r.method === 'POST' && r.path === '/v1/payment_intents', { kind: 'status', status: 500, body: { error: { type: 'api_error', message: 'boom' } } });
    const pi = (await t.call({ method: 'POST', url: '/v1/payment_intents', payload: { amount: 1800, currency: 'usd', customer: cus, payment_method: pm, confirm: true } })).body;
    expect(pi.gateway).toBe('paypal');
    const resource = {
      dispute_id: 'PP-D-4321',
      create_time: t.clock.now().toISOString(),
      update_time: t.clock.now().toISOString(),
      disputed_transactions: [{ seller_transaction_id: pi.latest_charge }],
      reason: 'MERCHANDISE_OR_SERVICE_NOT_RECEIVED',
      status: 'WAITING_FOR_SELLER_RESPONSE',
      dispute_amount: { currency_code: 'USD', value: '18.00' },
      seller_response_due_date: new Date(t.clock.now().getTime() + 10 * 86400_000).toISOString(),
    };
    const body = JSON.stringify({ id: 'WH-PP-DISPUTE-1', event_version: '1.0', create_time: t.clock.now().toISOString(), resource_type: 'dispute', event_type: 'CUSTOMER.DISPUTE.CREATED', resource });
    expect((await postPayPal(body, paypalWebhookHeaders(body))).status).toBe(200);
    await t.drainInbox();
    const d = (await t.call({ method: 'GET', url: `/v1/disputes?payment_intent=${pi.id}` })).body.data[0];
    expect(d).toMatchObject({ gateway: 'paypal', gateway_dispute_id: 'PP-D-4321', status: 'needs_response', amount: 1800, currency: 'usd', reason: 'merchandise_or_service_not_received', customer: cus });
  });
});
