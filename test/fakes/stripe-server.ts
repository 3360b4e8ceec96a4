import { createHash, randomBytes } from 'node:crypto';
import qs from 'qs';
import { cardBrand, luhnValid, TEST_CARDS, TEST_PAYMENT_METHODS } from '../../src/modules/payments/simulated-gateway.js';
import { FakeServer, type RecordedRequest, type Reply } from './http.js';

// A local server speaking the subset of Stripe's API that Recur's Stripe adapter calls, in Stripe's
// wire format: form-encoded bracket-notation requests, Stripe's JSON objects (shapes from Stripe's
// published fixtures), Stripe's error bodies and statuses, Idempotency-Key replay (and its 400 when a
// key is reused with other parameters). Charges behave like Stripe's test cards.

export const STRIPE_TEST_KEY = 'sk_test_recur_fake_0123456789';

type Obj = Record<string, unknown> & { id: string };

const DECLINES: Record<string, { code: string; decline_code?: string; message: string }> = {
  charge_customer_fail: { code: 'card_declined', decline_code: 'generic_decline', message: 'Your card was declined.' },
  card_declined: { code: 'card_declined', decline_code: 'generic_decline', message: 'Your card was declined.' },
  insufficient_funds: { code: 'card_declined', decline_code: 'insufficient_funds', message: 'Your card has insufficient funds.' },
  lost_card: { code: 'card_declined', decline_code: 'lost_card', message: 'Your card was declined.' },
  stolen_card: { code: 'card_declined', decline_code: 'stolen_card', message: 'Your card was declined.' },
  expired_card: { code: 'expired_card', message: 'Your card has expired.' },
  incorrect_cvc: { code: 'incorrect_cvc', message: "Your card's security code is incorrect." },
  processing_error: { code: 'processing_error', message: 'An error occurred while processing your card. Try again in a little bit.' },
  fraudulent: { code: 'card_declined', decline_code: 'fraudulent', message: 'Your card was declined.' },
  card_velocity_exceeded: { code: 'card_declined', decline_code: 'card_velocity_exceeded', message: 'Your card was declined.' },
};

function id(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`;
}

function stripeError(status: number, error: Record<string, unknown>): Reply {
  return { status, body: { error: { doc_url: `https://stripe.com/docs/error-codes/${String(error.code ?? '')}`, ...error } } };
}

export class FakeStripe extends FakeServer {
  readonly customers = new Map<string, Obj>();
  readonly paymentMethods = new Map<string, Obj & { _number: string }>();
  readonly setupIntents = new Map<string, Obj>();
  readonly paymentIntents = new Map<string, Obj>();
  readonly refunds = new Map<string, Obj>();
  private readonly idempotency = new Map<string, { hash: string; reply: Reply }>();

  protected parseBody(raw: string): unknown {
    return qs.parse(raw);
  }

  /** PaymentIntents actually created (confirmed charges), whatever the client saw. */
  charges(): Obj[] {
    return [...this.paymentIntents.values()];
  }

  protected handle(r: RecordedRequest): Reply {
    if (r.headers.authorization !== `Bearer ${STRIPE_TEST_KEY}`) {
      return stripeError(401, { type: 'invalid_request_error', message: 'Invalid API Key provided.' });
    }
    const key = r.headers['idempotency-key'];
    if (r.method === 'POST' && typeof key === 'string') {
      const hash = createHash('sha256').update(`${r.method} ${r.path} ${r.raw}`).digest('hex');
      const prev = this.idempotency.get(key);
      if (prev) {
        if (prev.hash !== hash) {
          return stripeError(400, {
            type: 'idempotency_error',
            message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
          });
        }
        return { ...prev.reply, headers: { ...(prev.reply.headers ?? {}), 'idempotent-replayed': 'true' } };
      }
      const reply = this.route(r);
      if (reply.status < 500) this.idempotency.set(key, { hash, reply });
      return reply;
    }
    return this.route(r);
  }

  private route(r: RecordedRequest): Reply {
    const b = (r.body ?? {}) as Record<string, unknown>;
    const q = qs.parse(r.query) as Record<string, unknown>;
    const p = r.path;
    let m: RegExpExecArray | null;
    if (r.method === 'POST' && p === '/v1/customers') return this.createCustomer(b);
    if (r.method === 'POST' && (m = /^\/v1\/customers\/([^/]+)$/.exec(p))) return this.updateCustomer(m[1]!, b);
    if (r.method === 'POST' && p === '/v1/payment_methods') return this.createPaymentMethod(b);
    if (r.method === 'GET' && (m = /^\/v1\/payment_methods\/([^/]+)$/.exec(p))) return this.get(this.paymentMethods, m[1]!, 'payment_method');
    if (r.method === 'POST' && (m = /^\/v1\/payment_methods\/([^/]+)\/attach$/.exec(p))) return this.attach(m[1]!, b);
    if (r.method === 'POST' && p === '/v1/setup_intents') return this.createSetupIntent(b);
    if (r.method === 'GET' && (m = /^\/v1\/setup_intents\/([^/]+)$/.exec(p))) return this.get(this.setupIntents, m[1]!, 'setup_intent');
    if (r.method === 'POST' && p === '/v1/payment_intents') return this.createPaymentIntent(b);
    if (r.method === 'GET' && p === '/v1/payment_intents/search') return this.search(q);
    if (r.method === 'GET' && p === '/v1/payment_intents') return this.listPaymentIntents(q);
    if (r.method === 'GET' && (m = /^\/v1\/payment_intents\/([^/]+)$/.exec(p))) return this.get(this.paymentIntents, m[1]!, 'payment_intent');
    if (r.method === 'POST' && p === '/v1/refunds') return this.createRefund(b);
    return stripeError(404, { type: 'invalid_request_error', message: `Unrecognized request URL (${r.method}: ${p}).` });
  }

  private get(map: Map<string, Obj>, objId: string, name: string): Reply {
    const o = map.get(objId);
    if (!o) return stripeError(404, { type: 'invalid_request_error', code: 'resource_missing', param: 'id', message: `No such ${name}: '${objId}'` });
    return { status: 200, body: this.public(o) };
  }

  private public(o: Obj): Obj {
    return Object.fromEntries(Object.entries(o).filter(([k]) => !k.startsWith('_'))) as Obj;
  }

  private now(): number {
    return Math.floor(Date.now() / 1000);
  }

  private createCustomer(b: Record<string, unknown>): Reply {
    const c: Obj = {
      id: id('cus'),
      object: 'customer',
      address: null,
      balance: 0,
      created: this.now(),
      currency: null,
      default_source: null,
      delinquent: false,
      description: (b.description as string) ?? null,
      email: (b.email as string) ?? null,
      invoice_prefix: randomBytes(4).toString('hex').toUpperCase(),
      invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
      livemode: false,
      metadata: (b.metadata as Record<string, string>) ?? {},
      name: (b.name as string) ?? null,
      next_invoice_sequence: 1,
      phone: null,
      preferred_locales: [],
      shipping: null,
      tax_exempt: 'none',
      test_clock: null,
    };
    this.customers.set(c.id, c);
    return { status: 200, body: c };
  }

  private updateCustomer(cid: string, b: Record<string, unknown>): Reply {
    const c = this.customers.get(cid);
    if (!c) return stripeError(404, { type: 'invalid_request_error', code: 'resource_missing', param: 'id', message: `No such customer: '${cid}'` });
    for (const k of ['email', 'name', 'description'] as const) if (b[k] !== undefined) c[k] = b[k] === '' ? null : b[k];
    if (b.metadata) c.metadata = { ...(c.metadata as object), ...(b.metadata as object) };
    return { status: 200, body: c };
  }

  private paymentMethodObject(number: string, expMonth: number, expYear: number): Obj & { _number: string } {
    const known = TEST_CARDS[number];
    const pm = {
      id: id('pm'),
      object: 'payment_method',
      allow_redisplay: 'unspecified',
      billing_details: { address: { city: null, country: null, line1: null, line2: null, postal_code: null, state: null }, email: null, name: null, phone: null, tax_id: null },
      card: {
        brand: cardBrand(number),
        checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: 'pass' },
        country: known?.country ?? 'US',
        display_brand: cardBrand(number),
        exp_month: expMonth,
        exp_year: expYear,
        fingerprint: createHash('sha256').update(number).digest('base64url').slice(0, 16),
        funding: known?.funding ?? 'credit',
        generated_from: null,
        last4: number.slice(-4),
        networks: { available: [cardBrand(number)], preferred: null },
        three_d_secure_usage: { supported: true },
        wallet: null,
      },
      created: this.now(),
      customer: null as string | null,
      livemode: false,
      metadata: {},
      type: 'card',
      _number: number,
    };
    this.paymentMethods.set(pm.id, pm);
    return pm;
  }

  private createPaymentMethod(b: Record<string, unknown>): Reply {
    const card = (b.card ?? {}) as Record<string, string>;
    const number = String(card.number ?? '').replace(/\s/g, '');
    if (!/^\d{12,19}$/.test(number) || !luhnValid(number)) {
      return stripeError(402, { type: 'card_error', code: 'incorrect_number', param: 'number', message: 'Your card number is incorrect.' });
    }
    return { status: 200, body: this.public(this.paymentMethodObject(number, Number(card.exp_month), Number(card.exp_year))) };
  }

  private attach(pmId: string, b: Record<string, unknown>): Reply {
    const pm = this.paymentMethods.get(pmId);
    if (!pm) return stripeError(404, { type: 'invalid_request_error', code: 'resource_missing', param: 'payment_method', message: `No such PaymentMethod: '${pmId}'` });
    const customer = String(b.customer ?? '');
    if (!this.customers.has(customer)) return stripeError(400, { type: 'invalid_request_error', code: 'resource_missing', param: 'customer', message: `No such customer: '${customer}'` });
    if (pm.customer && pm.customer !== customer) {
      return stripeError(400, { type: 'invalid_request_error', code: 'payment_method_unexpected_state', message: 'The payment method you provided has already been attached to a customer.' });
    }
    pm.customer = customer;
    return { status: 200, body: this.public(pm) };
  }

  /** Creates a PaymentMethod as Stripe.js would in the browser (not attached to anyone). */
  createPaymentMethodAsBrowser(number = '4242424242424242'): string {
    return this.paymentMethodObject(number, 11, new Date().getUTCFullYear() + 3).id;
  }

  /** A test id (pm_card_visa) names a card: using it creates a new PaymentMethod, as in Stripe's test mode. */
  private resolvePm(pmId: string): (Obj & { _number: string }) | undefined {
    const testNumber = TEST_PAYMENT_METHODS[pmId];
    if (testNumber) return this.paymentMethodObject(testNumber, 12, new Date().getUTCFullYear() + 1);
    return this.paymentMethods.get(pmId);
  }

  private createSetupIntent(b: Record<string, unknown>): Reply {
    const customer = b.customer as string | undefined;
    if (customer && !this.customers.has(customer)) return stripeError(400, { type: 'invalid_request_error', code: 'resource_missing', param: 'customer', message: `No such customer: '${customer}'` });
    const seti: Obj = {
      id: id('seti'),
      object: 'setup_intent',
      application: null,
      cancellation_reason: null,
      client_secret: null,
      created: this.now(),
      customer: customer ?? null,
      description: null,
      last_setup_error: null,
      latest_attempt: null,
      livemode: false,
      metadata: (b.metadata as Record<string, string>) ?? {},
      next_action: null,
      payment_method: null,
      payment_method_types: ['card'],
      status: 'requires_payment_method',
      usage: (b.usage as string) ?? 'off_session',
    };
    seti.client_secret = `${seti.id}_secret_${randomBytes(8).toString('hex')}`;
    this.setupIntents.set(seti.id, seti);
    if (b.payment_method) {
      const pm = this.resolvePm(String(b.payment_method));
      if (!pm) return stripeError(400, { type: 'invalid_request_error', code: 'resource_missing', param: 'payment_method', message: `No such PaymentMethod: '${String(b.payment_method)}'` });
      seti.payment_method = pm.id;
      seti.status = 'requires_confirmation';
      if (b.confirm === 'true') {
        const behavior = TEST_CARDS[pm._number]?.behavior ?? 'succeed';
        // Cards that fail at once are refused when set up; charge_customer_fail sets up fine (it fails later).
        if (behavior !== 'succeed' && behavior !== 'charge_customer_fail') {
          const d = DECLINES[behavior]!;
          seti.status = 'requires_payment_method';
          seti.last_setup_error = { type: 'card_error', ...d };
          return stripeError(402, { type: 'card_error', ...d, setup_intent: seti });
        }
        pm.customer = customer ?? null;
        seti.status = 'succeeded';
      }
    }
    return { status: 200, body: seti };
  }

  /** Completes a SetupIntent as Stripe.js would after the customer entered a card. */
  confirmSetupIntentAsCustomer(setiId: string, number = '4242424242424242'): void {
    const seti = this.setupIntents.get(setiId)!;
    const pm = this.paymentMethodObject(number, 12, new Date().getUTCFullYear() + 2);
    pm.customer = seti.customer as string;
    seti.payment_method = pm.id;
    seti.status = 'succeeded';
  }

  private createPaymentIntent(b: Record<string, unknown>): Reply {
    const amount = Number(b.amount);
    if (!Number.isInteger(amount) || amount < 1) return stripeError(400, { type: 'invalid_request_error', code: 'parameter_invalid_integer', param: 'amount', message: 'Invalid integer' });
    const pmId = String(b.payment_method ?? '');
    const pm = this.paymentMethods.get(pmId);
    if (!pm) return stripeError(400, { type: 'invalid_request_error', code: 'resource_missing', param: 'payment_method', message: `No such PaymentMethod: '${pmId}'` });
    if (b.customer && pm.customer !== b.customer) {
      return stripeError(400, { type: 'invalid_request_error', code: 'payment_method_unexpected_state', message: 'The provided PaymentMethod is not attached to this Customer.' });
    }
    const pi: Obj = {
      id: id('pi'),
      object: 'payment_intent',
      amount,
      amount_capturable: 0,
      amount_received: 0,
      application: null,
      canceled_at: null,
      cancellation_reason: null,
      capture_method: 'automatic',
      client_secret: null,
      confirmation_method: 'automatic',
      created: this.now(),
      currency: String(b.currency),
      customer: (b.customer as string) ?? null,
      description: (b.description as string) ?? null,
      last_payment_error: null,
      latest_charge: null,
      livemode: false,
      metadata: (b.metadata as Record<string, string>) ?? {},
      next_action: null,
      payment_method: pmId,
      payment_method_types: ['card'],
      status: 'requires_confirmation',
      _refunded: 0,
    };
    pi.client_secret = `${pi.id}_secret_${randomBytes(8).toString('hex')}`;
    this.paymentIntents.set(pi.id, pi);
    if (b.confirm !== 'true') return { status: 200, body: this.public(pi) };
    const behavior = TEST_CARDS[pm._number]?.behavior ?? 'succeed';
    const charge = id('ch');
    pi.latest_charge = charge;
    if (behavior === 'succeed') {
      pi.status = 'succeeded';
      pi.amount_received = amount;
      return { status: 200, body: this.public(pi) };
    }
    const d = DECLINES[behavior]!;
    pi.status = 'requires_payment_method';
    pi.last_payment_error = { type: 'card_error', charge, ...d, payment_method: this.public(pm) };
    return stripeError(402, { type: 'card_error', charge, ...d, payment_intent: this.public(pi), payment_method: this.public(pm) });
  }

  private listPaymentIntents(q: Record<string, unknown>): Reply {
    const limit = Math.min(Number(q.limit ?? 10), 100);
    let all = [...this.paymentIntents.values()].reverse();
    if (q.customer) all = all.filter((p) => p.customer === q.customer);
    if (q.starting_after) {
      const i = all.findIndex((p) => p.id === q.starting_after);
      all = all.slice(i + 1);
    }
    const data = all.slice(0, limit).map((p) => this.public(p));
    return { status: 200, body: { object: 'list', data, has_more: all.length > limit, url: '/v1/payment_intents' } };
  }

  private search(q: Record<string, unknown>): Reply {
    const m = /metadata\['([^']+)'\]:'([^']*)'/.exec(String(q.query ?? ''));
    const data = m ? [...this.paymentIntents.values()].filter((p) => (p.metadata as Record<string, string>)[m[1]!] === m[2]).map((p) => this.public(p)) : [];
    return { status: 200, body: { object: 'search_result', data, has_more: false, next_page: null, url: '/v1/payment_intents/search' } };
  }

  private createRefund(b: Record<string, unknown>): Reply {
    const pi = b.payment_intent
      ? this.paymentIntents.get(String(b.payment_intent))
      : [...this.paymentIntents.values()].find((p) => p.latest_charge === b.charge);
    if (!pi || pi.status !== 'succeeded') {
      return stripeError(400, { type: 'invalid_request_error', code: 'resource_missing', param: 'payment_intent', message: `No such payment_intent: '${String(b.payment_intent ?? b.charge)}'` });
    }
    const remaining = Number(pi.amount_received) - Number(pi._refunded);
    const amount = b.amount === undefined ? remaining : Number(b.amount);
    if (amount > remaining) {
      return stripeError(400, {
        type: 'invalid_request_error',
        code: remaining === 0 ? 'charge_already_refunded' : 'amount_too_large',
        param: 'amount',
        message: `Refund amount ($${(amount / 100).toFixed(2)}) is greater than unrefunded amount on charge ($${(remaining / 100).toFixed(2)})`,
      });
    }
    pi._refunded = Number(pi._refunded) + amount;
    const refund: Obj = {
      id: id('re'),
      object: 'refund',
      amount,
      balance_transaction: id('txn'),
      charge: pi.latest_charge,
      created: this.now(),
      currency: pi.currency,
      destination_details: { card: { type: 'reversal' }, type: 'card' },
      metadata: (b.metadata as Record<string, string>) ?? {},
      payment_intent: pi.id,
      reason: (b.reason as string) ?? null,
      receipt_number: null,
      source_transfer_reversal: null,
      status: 'succeeded',
      transfer_reversal: null,
    };
    this.refunds.set(refund.id, refund);
    return { status: 200, body: refund };
  }
}

export async function startFakeStripe(): Promise<FakeStripe> {
  return new FakeStripe().start();
}

