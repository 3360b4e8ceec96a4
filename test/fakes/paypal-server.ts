import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import { crc32 } from 'node:zlib';
import { cardBrand, luhnValid, TEST_CARDS } from '../../src/modules/payments/simulated-gateway.js';
import { FakeServer, type RecordedRequest, type Reply } from './http.js';

// A local server speaking the subset of PayPal's REST API that Recur's PayPal adapter calls, in
// PayPal's JSON: the OAuth client-credentials token endpoint, vault payment tokens (v3), orders (v2)
// created with a vault id and captured, capture refunds, and webhook signature verification.
// PayPal-Request-Id makes a repeated POST answer with the original result. Card outcomes follow
// Stripe's test card numbers, declined the PayPal way (processor response codes, error issues).

export const PAYPAL_CLIENT_ID = 'recur-fake-client';
export const PAYPAL_CLIENT_SECRET = 'recur-fake-secret';
export const PAYPAL_WEBHOOK_ID = 'WH-RECUR-FAKE-0001';
/** Stands in for PayPal's signing certificate: the fake signs and verifies with this key. */
const SIGNING_KEY = 'fake-paypal-signing-key';

type Obj = Record<string, unknown> & { id: string };

/** How a card number is declined by PayPal: a capture DECLINED with a processor code, or a 422 issue. */
const PAYPAL_DECLINES: Record<string, { processor?: string; issue?: string }> = {
  charge_customer_fail: { issue: 'INSTRUMENT_DECLINED' },
  card_declined: { issue: 'INSTRUMENT_DECLINED' },
  insufficient_funds: { processor: '5120' },
  lost_card: { processor: '9520' },
  stolen_card: { processor: '9520' },
  expired_card: { processor: '5400' },
  incorrect_cvc: { processor: '5110' },
  processing_error: { processor: '9100' },
  fraudulent: { processor: '9500' },
};

function ppId(n = 17): string {
  return randomBytes(n).toString('hex').toUpperCase().slice(0, n);
}

function ppError(status: number, name: string, issue: string, description: string): Reply {
  return {
    status,
    body: {
      name,
      details: [{ issue, description }],
      message: 'The requested action could not be performed, semantically incorrect, or failed business validation.',
      debug_id: ppId(13).toLowerCase(),
      links: [{ href: `https://developer.paypal.com/api/rest/reference/orders/v2/errors/#${issue}`, rel: 'information_link', method: 'GET' }],
    },
  };
}

export class FakePayPal extends FakeServer {
  readonly tokens = new Map<string, Obj & { _number: string }>();
  readonly orders = new Map<string, Obj>();
  readonly captures = new Map<string, Obj & { _refunded: number }>();
  readonly refunds = new Map<string, Obj>();
  private readonly accessTokens = new Set<string>();
  private readonly idempotency = new Map<string, Reply>();

  protected parseBody(raw: string, headers: http.IncomingHttpHeaders): unknown {
    if (!raw) return {};
    if (String(headers['content-type'] ?? '').includes('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(raw));
    return JSON.parse(raw);
  }

  /** Orders whose capture completed (money taken), whatever the client saw. */
  completedCaptures(): Obj[] {
    return [...this.captures.values()].filter((c) => c.status === 'COMPLETED');
  }

  protected handle(r: RecordedRequest): Reply {
    if (r.method === 'POST' && r.path === '/v1/oauth2/token') return this.token(r);
    const auth = String(r.headers.authorization ?? '');
    if (!auth.startsWith('Bearer ') || !this.accessTokens.has(auth.slice(7))) {
      return { status: 401, body: { error: 'invalid_token', error_description: 'Token signature verification failed' } };
    }
    const requestId = r.headers['paypal-request-id'];
    if (r.method === 'POST' && typeof requestId === 'string') {
      const key = `${r.path} ${requestId}`;
      const prev = this.idempotency.get(key);
      if (prev) return prev;
      const reply = this.route(r);
      if (reply.status < 500) this.idempotency.set(key, reply);
      return reply;
    }
    return this.route(r);
  }

  private token(r: RecordedRequest): Reply {
    const expected = `Basic ${Buffer.from(`${PAYPAL_CLIENT_ID}:${PAYPAL_CLIENT_SECRET}`).toString('base64')}`;
    if (r.headers.authorization !== expected || (r.body as Record<string, string>).grant_type !== 'client_credentials') {
      return { status: 401, body: { error: 'invalid_client', error_description: 'Client Authentication failed' } };
    }
    const token = `A21AA${randomBytes(24).toString('base64url')}`;
    this.accessTokens.add(token);
    return {
      status: 200,
      body: {
        scope: 'https://uri.paypal.com/services/payments/payment https://uri.paypal.com/services/vault/payment-tokens/readwrite',
        access_token: token,
        token_type: 'Bearer',
        app_id: 'APP-80W284485P519543T',
        expires_in: 32400,
        nonce: `${new Date().toISOString()}${randomBytes(8).toString('hex')}`,
      },
    };
  }

  private route(r: RecordedRequest): Reply {
    const b = (r.body ?? {}) as Record<string, unknown>;
    let m: RegExpExecArray | null;
    if (r.method === 'POST' && r.path === '/v3/vault/payment-tokens') return this.createPaymentToken(b);
    if (r.method === 'POST' && r.path === '/v2/checkout/orders') return this.createOrder(b);
    if (r.method === 'POST' && (m = /^\/v2\/checkout\/orders\/([^/]+)\/capture$/.exec(r.path))) return this.captureOrder(m[1]!);
    if (r.method === 'GET' && (m = /^\/v2\/checkout\/orders\/([^/]+)$/.exec(r.path))) {
      const o = this.orders.get(m[1]!);
      return o ? { status: 200, body: o } : ppError(404, 'RESOURCE_NOT_FOUND', 'INVALID_RESOURCE_ID', 'Specified resource ID does not exist.');
    }
    if (r.method === 'POST' && (m = /^\/v2\/payments\/captures\/([^/]+)\/refund$/.exec(r.path))) return this.refund(m[1]!, b);
    if (r.method === 'POST' && r.path === '/v1/notifications/verify-webhook-signature') return this.verify(b);
    return { status: 404, body: { name: 'NOT_FOUND', message: 'The specified resource does not exist.' } };
  }

  private createPaymentToken(b: Record<string, unknown>): Reply {
    const card = ((b.payment_source as Record<string, unknown>)?.card ?? {}) as Record<string, string>;
    const number = String(card.number ?? '');
    if (!/^\d{12,19}$/.test(number) || !luhnValid(number)) {
      return ppError(422, 'UNPROCESSABLE_ENTITY', 'CARD_NUMBER_INVALID', 'The card number is invalid.');
    }
    const [y, mo] = String(card.expiry ?? '').split('-').map(Number);
    const now = new Date();
    if (!y || !mo || y < now.getUTCFullYear() || (y === now.getUTCFullYear() && mo < now.getUTCMonth() + 1)) {
      return ppError(422, 'UNPROCESSABLE_ENTITY', 'CARD_EXPIRED', 'The card is expired.');
    }
    const brand = cardBrand(number);
    const token = {
      id: ppId(8).toLowerCase(),
      customer: { id: `customer_${ppId(8).toLowerCase()}`, ...((b.customer as object) ?? {}) },
      payment_source: { card: { brand: brand === 'mastercard' ? 'MASTERCARD' : brand.toUpperCase(), last_digits: number.slice(-4), expiry: card.expiry } },
      links: [{ rel: 'self', href: `https://api-m.sandbox.paypal.com/v3/vault/payment-tokens/x`, method: 'GET' }],
      _number: number,
    };
    this.tokens.set(token.id, token);
    const { _number: _, ...pub } = token;
    return { status: 201, body: pub };
  }

  private createOrder(b: Record<string, unknown>): Reply {
    const unit = ((b.purchase_units as Record<string, unknown>[]) ?? [])[0] ?? {};
    const amount = unit.amount as { currency_code: string; value: string };
    const card = ((b.payment_source as Record<string, unknown>)?.card ?? {}) as Record<string, unknown>;
    const token = this.tokens.get(String(card.vault_id ?? ''));
    if (!token) return ppError(422, 'UNPROCESSABLE_ENTITY', 'INVALID_RESOURCE_ID', 'The vault_id is not valid.');
    const behavior = TEST_CARDS[token._number]?.behavior ?? 'succeed';
    const decline = behavior === 'succeed' ? undefined : PAYPAL_DECLINES[behavior];
    if (decline?.issue) return ppError(422, 'UNPROCESSABLE_ENTITY', decline.issue, 'The instrument presented was either declined by the processor or bank, or it cannot be used for this payment.');
    const now = new Date().toISOString();
    const capture = {
      id: ppId(17),
      status: decline ? 'DECLINED' : 'COMPLETED',
      amount,
      final_capture: true,
      custom_id: unit.custom_id,
      seller_protection: { status: 'NOT_ELIGIBLE' },
      processor_response: { avs_code: 'Y', cvv_code: 'M', response_code: decline?.processor ?? '0000' },
      create_time: now,
      update_time: now,
      _refunded: 0,
    };
    this.captures.set(capture.id, capture);
    const { _refunded: _, ...capturePub } = capture;
    const order: Obj = {
      id: ppId(17),
      intent: 'CAPTURE',
      status: 'COMPLETED',
      payment_source: { card: { last_digits: token._number.slice(-4), brand: (token.payment_source as { card: { brand: string } }).card.brand, type: 'CREDIT' } },
      purchase_units: [{ reference_id: 'default', amount, custom_id: unit.custom_id, payments: { captures: [capturePub] } }],
      create_time: now,
      update_time: now,
      links: [],
    };
    this.orders.set(order.id, order);
    return { status: 201, body: order };
  }

  private captureOrder(orderId: string): Reply {
    const o = this.orders.get(orderId);
    if (!o) return ppError(404, 'RESOURCE_NOT_FOUND', 'INVALID_RESOURCE_ID', 'Specified resource ID does not exist.');
    if (o.status === 'COMPLETED') return ppError(422, 'UNPROCESSABLE_ENTITY', 'ORDER_ALREADY_CAPTURED', 'Order already captured.');
    return { status: 201, body: o };
  }

  private refund(captureId: string, b: Record<string, unknown>): Reply {
    const c = this.captures.get(captureId);
    if (!c || c.status !== 'COMPLETED') return ppError(404, 'RESOURCE_NOT_FOUND', 'INVALID_RESOURCE_ID', 'Specified resource ID does not exist.');
    const captured = Math.round(Number((c.amount as { value: string }).value) * 100);
    const amount = b.amount ? Math.round(Number((b.amount as { value: string }).value) * 100) : captured - c._refunded;
    if (amount > captured - c._refunded) return ppError(422, 'UNPROCESSABLE_ENTITY', 'REFUND_AMOUNT_EXCEEDED', 'The refund amount must be less than or equal to the capture amount that has not yet been refunded.');
    c._refunded += amount;
    const refund: Obj = {
      id: ppId(17),
      status: 'COMPLETED',
      amount: { currency_code: (c.amount as { currency_code: string }).currency_code, value: (amount / 100).toFixed(2) },
      custom_id: b.custom_id,
      create_time: new Date().toISOString(),
      update_time: new Date().toISOString(),
      links: [],
    };
    this.refunds.set(refund.id, refund);
    return { status: 201, body: refund };
  }

  private verify(b: Record<string, unknown>): Reply {
    const expected = signature(String(b.transmission_id), String(b.transmission_time), String(b.webhook_id), JSON.stringify(b.webhook_event));
    const given = Buffer.from(String(b.transmission_sig ?? ''));
    const ok = b.webhook_id === PAYPAL_WEBHOOK_ID && given.length === expected.length && timingSafeEqual(given, Buffer.from(expected));
    return { status: 200, body: { verification_status: ok ? 'SUCCESS' : 'FAILURE' } };
  }
}

function signature(transmissionId: string, time: string, webhookId: string, body: string): string {
  return createHmac('sha256', SIGNING_KEY).update(`${transmissionId}|${time}|${webhookId}|${crc32(body)}`).digest('base64');
}

/** The headers PayPal sends with a webhook delivery of `body` (signed as the fake verifies). */
export function paypalWebhookHeaders(body: string, opts: { webhookId?: string; time?: string } = {}): Record<string, string> {
  const transmissionId = randomBytes(16).toString('hex');
  const time = opts.time ?? new Date().toISOString();
  return {
    'paypal-auth-algo': 'SHA256withRSA',
    'paypal-cert-url': 'https://api-m.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77',
    'paypal-transmission-id': transmissionId,
    'paypal-transmission-sig': signature(transmissionId, time, opts.webhookId ?? PAYPAL_WEBHOOK_ID, body),
    'paypal-transmission-time': time,
  };
}

export async function startFakePayPal(): Promise<FakePayPal> {
  return new FakePayPal().start();
}
