import { createHmac } from 'node:crypto';
import Stripe from 'stripe';
import { classifyStripe } from './domain/decline-codes.js';
import {
  faultOutcome,
  PAYMENT_PENDING,
  type CardDetails,
  type CardSetup,
  type ChargeOutcome,
  type ChargeRequest,
  type Gateway,
  type GatewayCustomer,
  type RefundOutcome,
  type RefundRequest,
  type TokenizedCard,
} from './gateway.js';
import { CardError, TEST_PAYMENT_METHODS } from './simulated-gateway.js';
import type { StripeSettings } from './config.js';

// The Stripe adapter, on the official SDK. A saved card lives at Stripe as a PaymentMethod attached
// (through a SetupIntent, usage off_session) to a Stripe Customer of its own; Recur's token for it is
// "cus_…:pm_…". Charges are off-session PaymentIntents confirmed at once, sent with Recur's
// idempotency key as Stripe's Idempotency-Key and stored in metadata.recur_idempotency_key, so a
// charge whose answer was lost can be found again by listing the customer's PaymentIntents (a list is
// strongly consistent; Stripe's search is not) — without ever creating a second one.

const KEY_METADATA = 'recur_idempotency_key';
/** How many of a card's most recent PaymentIntents reconciliation looks through. */
const RECONCILE_SCAN = 300;

/** Network errors that mean the request never reached Stripe: another gateway may be tried at once. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

const TEST_CARD_PM: Map<string, string> = new Map(Object.entries(TEST_PAYMENT_METHODS).map(([pm, number]) => [number, pm]));

export function parseStripeToken(token: string): { customer: string; paymentMethod: string } | null {
  const m = /^(cus_[A-Za-z0-9]+):(pm_[A-Za-z0-9_]+)$/.exec(token);
  return m ? { customer: m[1]!, paymentMethod: m[2]! } : null;
}

function funding(f: string | null | undefined): TokenizedCard['funding'] {
  return f === 'credit' || f === 'debit' || f === 'prepaid' ? f : 'unknown';
}

export class StripeGateway implements Gateway {
  readonly name = 'stripe';
  readonly client: Stripe;

  constructor(private readonly settings: StripeSettings) {
    this.client = new Stripe(settings.secretKey, {
      ...(settings.host ? { host: settings.host } : {}),
      ...(settings.port ? { port: settings.port } : {}),
      ...(settings.protocol ? { protocol: settings.protocol } : {}),
      timeout: settings.timeoutMs,
      maxNetworkRetries: settings.maxNetworkRetries,
      telemetry: false,
      appInfo: { name: 'Recur', url: 'https://github.com/recur' },
    });
  }

  private get testMode(): boolean {
    return this.settings.secretKey.startsWith('sk_test_') || this.settings.secretKey.startsWith('rk_test_');
  }

  // ---- customers and saved cards ----

  private async createCustomer(c: GatewayCustomer | undefined, idempotencyKey?: string): Promise<string> {
    const customer = await this.client.customers.create(
      {
        ...(c?.email ? { email: c.email } : {}),
        ...(c?.name ? { name: c.name } : {}),
        description: 'Recur saved card holder',
        metadata: c ? { recur_customer: c.id } : {},
      },
      idempotencyKey ? { idempotencyKey } : undefined,
    );
    return customer.id;
  }

  async syncCustomer(token: string, c: GatewayCustomer): Promise<void> {
    const parsed = parseStripeToken(token);
    if (!parsed) return;
    await this.client.customers.update(parsed.customer, { email: c.email ?? '', name: c.name ?? '', metadata: { recur_customer: c.id } });
  }

  private toTokenized(pm: Stripe.PaymentMethod, customer: string): TokenizedCard {
    const card = pm.card;
    if (!card) throw new CardError('payment_method_invalid', 'The saved payment method is not a card.', 'card');
    return {
      token: `${customer}:${pm.id}`,
      brand: card.brand,
      last4: card.last4,
      exp_month: card.exp_month,
      exp_year: card.exp_year,
      country: card.country ?? null,
      fingerprint: card.fingerprint ?? createHmac('sha256', 'recur-stripe').update(pm.id).digest('base64url').slice(0, 16),
      funding: funding(card.funding),
    };
  }

  /**
   * Saves a card from its number (Stripe must allow raw card data on the account; in test mode
   * Stripe's test card numbers are sent as their test PaymentMethods, pm_card_visa, …) and sets it up
   * for off-session use with a SetupIntent confirmed at once.
   */
  async tokenizeCard(card: CardDetails): Promise<TokenizedCard> {
    try {
      const number = card.number.replace(/[\s-]/g, '');
      const testPm = this.testMode ? TEST_CARD_PM.get(number) : undefined;
      const pmId =
        testPm ??
        (
          await this.client.paymentMethods.create({
            type: 'card',
            card: { number, exp_month: card.exp_month, exp_year: card.exp_year, ...(card.cvc ? { cvc: card.cvc } : {}) },
          })
        ).id;
      // The customer is created once the card is known to be valid (no empty customers for typos).
      const customer = await this.createCustomer(card.customer);
      const setup = await this.client.setupIntents.create({
        customer,
        payment_method: pmId,
        confirm: true,
        usage: 'off_session',
        allowed_payment_method_types: ['card'],
      });
      if (setup.status !== 'succeeded') {
        throw new CardError('authentication_required', 'This card requires authentication by the customer before it can be saved.', 'card');
      }
      const savedId = typeof setup.payment_method === 'string' ? setup.payment_method : (setup.payment_method?.id ?? pmId);
      return this.toTokenized(await this.client.paymentMethods.retrieve(savedId), customer);
    } catch (err) {
      throw this.tokenizeError(err);
    }
  }

  private tokenizeError(err: unknown): Error {
    if (err instanceof CardError) return err;
    if (err instanceof Stripe.errors.StripeCardError) {
      const c = classifyStripe(err.code, err.decline_code);
      return new CardError(c.code, err.message, err.param ? `card[${err.param.replace(/^card\[|\]$/g, '')}]` : 'card', c.declineCode);
    }
    return err instanceof Error ? err : new Error(String(err));
  }

  async createCardSetup(c: GatewayCustomer): Promise<CardSetup> {
    const customer = await this.createCustomer(c);
    const setup = await this.client.setupIntents.create({ customer, usage: 'off_session', allowed_payment_method_types: ['card'], metadata: { recur_customer: c.id } });
    return { id: setup.id, clientSecret: setup.client_secret, publishableKey: this.settings.publishableKey ?? null, status: setup.status };
  }

  async completeCardSetup(setupId: string): Promise<TokenizedCard> {
    const setup = await this.client.setupIntents.retrieve(setupId);
    if (setup.status !== 'succeeded') throw new CardError('setup_intent_unexpected_state', `The SetupIntent is ${setup.status}, not succeeded.`, 'setup_intent');
    const customer = typeof setup.customer === 'string' ? setup.customer : setup.customer?.id;
    const pmId = typeof setup.payment_method === 'string' ? setup.payment_method : setup.payment_method?.id;
    if (!customer || !pmId) throw new CardError('setup_intent_unexpected_state', 'The SetupIntent has no customer or payment method.', 'setup_intent');
    return this.toTokenized(await this.client.paymentMethods.retrieve(pmId), customer);
  }

  /**
   * A PaymentMethod id saved by Stripe.js elsewhere (a bare `pm_…` token): the Stripe customer it is
   * attached to, attaching it to a new one first if it has none (Stripe reuses a card off-session only
   * through a customer). The customer is created once per card (idempotency key derived from it).
   */
  private async resolveToken(token: string, customerId?: string): Promise<{ customer: string; paymentMethod: string } | null> {
    const parsed = parseStripeToken(token);
    if (parsed) return parsed;
    if (!/^pm_[A-Za-z0-9_]+$/.test(token)) return null;
    const pm = await this.client.paymentMethods.retrieve(token);
    const attached = typeof pm.customer === 'string' ? pm.customer : pm.customer?.id;
    if (attached) return { customer: attached, paymentMethod: pm.id };
    const customer = await this.createCustomer(customerId ? { id: customerId } : undefined, `recur-holder-${token}`);
    await this.client.paymentMethods.attach(token, { customer });
    return { customer, paymentMethod: token };
  }

  /** Saves a card that Stripe.js created (a `pm_…` id): attached to a Stripe customer for off-session use. */
  async importPaymentMethod(paymentMethodId: string, customer?: GatewayCustomer): Promise<TokenizedCard> {
    const resolved = await this.resolveToken(paymentMethodId, customer?.id);
    if (!resolved) throw new CardError('payment_method_invalid', 'This is not a Stripe PaymentMethod id.', 'payment_method');
    return this.toTokenized(await this.client.paymentMethods.retrieve(resolved.paymentMethod), resolved.customer);
  }

  // ---- charges ----

  async charge(req: ChargeRequest): Promise<ChargeOutcome> {
    let parsed: { customer: string; paymentMethod: string } | null;
    try {
      parsed = await this.resolveToken(req.token, req.customerId);
    } catch (err) {
      return this.chargeError(err);
    }
    if (!parsed) return { status: 'failed', failureClass: 'hard_decline', code: 'payment_method_invalid', message: 'The payment method is not usable with Stripe.' };
    try {
      const pi = await this.client.paymentIntents.create(
        {
          amount: req.amount,
          currency: req.currency,
          customer: parsed.customer,
          payment_method: parsed.paymentMethod,
          allowed_payment_method_types: ['card'],
          confirm: true,
          off_session: true,
          ...(req.description ? { description: req.description } : {}),
          metadata: { [KEY_METADATA]: req.idempotencyKey, ...(req.customerId ? { recur_customer: req.customerId } : {}) },
        },
        { idempotencyKey: req.idempotencyKey },
      );
      return outcomeOfPaymentIntent(pi);
    } catch (err) {
      return this.chargeError(err);
    }
  }

  private chargeError(err: unknown): ChargeOutcome {
    if (err instanceof Stripe.errors.StripeCardError) {
      const c = classifyStripe(err.code, err.decline_code);
      return {
        status: 'failed',
        failureClass: c.failureClass,
        code: c.code,
        declineCode: c.declineCode,
        message: err.message,
        ...(err.payment_intent?.id ? { gatewayRef: err.payment_intent.id } : {}),
      };
    }
    if (err instanceof Stripe.errors.StripeInvalidRequestError) {
      // The saved card is gone (detached, customer deleted) or unusable: not a fault of the gateway.
      const c = classifyStripe(err.code ?? 'resource_missing', undefined);
      if (c.failureClass !== 'gateway_fault') return { status: 'failed', failureClass: 'hard_decline', code: err.code ?? 'invalid_request', declineCode: c.declineCode, message: err.message };
    }
    if (err instanceof Stripe.errors.StripeIdempotencyError && err.statusCode === 400) {
      // The key was used before with other parameters: a bug to surface, not a fault to fail over on.
      return { status: 'failed', failureClass: 'hard_decline', code: 'idempotency_error', message: err.message };
    }
    if (err instanceof Stripe.errors.StripeRateLimitError || err instanceof Stripe.errors.StripeAuthenticationError || err instanceof Stripe.errors.StripePermissionError) {
      // Refused before any processing: safe to try another gateway at once.
      return faultOutcome(err.code ?? err.type, err.message, { notProcessed: true });
    }
    if (err instanceof Stripe.errors.StripeConnectionError) {
      const code = (err.detail as { code?: string } | undefined)?.code;
      return faultOutcome('gateway_unavailable', err.message, { notProcessed: code !== undefined && NOT_SENT.has(code) });
    }
    const e = err as { message?: string; statusCode?: number };
    return faultOutcome('gateway_error', e.message ?? 'Stripe did not answer.');
  }

  /**
   * Finds the PaymentIntent created with this idempotency key among the card's customer's recent
   * PaymentIntents. Without the original request (no customer), only Stripe's search API is left,
   * which lags; then "not found" is not proof, and this throws instead of returning null.
   */
  async retrieveCharge(idempotencyKey: string, req?: ChargeRequest): Promise<ChargeOutcome | null> {
    const parsed = req ? await this.resolveToken(req.token, req.customerId) : null;
    if (parsed) {
      let seen = 0;
      for await (const pi of this.client.paymentIntents.list({ customer: parsed.customer, limit: 100 })) {
        if (pi.metadata?.[KEY_METADATA] === idempotencyKey) return outcomeOfPaymentIntent(pi);
        if (++seen >= RECONCILE_SCAN) break;
      }
      return null;
    }
    const found = await this.client.paymentIntents.search({ query: `metadata['${KEY_METADATA}']:'${idempotencyKey.replace(/'/g, "\\'")}'` });
    if (found.data[0]) return outcomeOfPaymentIntent(found.data[0]);
    throw new Error('Stripe search found no PaymentIntent for the key; search lags, so absence is not proven.');
  }

  // ---- refunds ----

  async refund(req: RefundRequest): Promise<RefundOutcome> {
    try {
      const r = await this.client.refunds.create(
        {
          ...(req.gatewayRef.startsWith('ch_') ? { charge: req.gatewayRef } : { payment_intent: req.gatewayRef }),
          amount: req.amount,
          ...(req.reason && ['duplicate', 'fraudulent', 'requested_by_customer'].includes(req.reason)
            ? { reason: req.reason as Stripe.RefundCreateParams.Reason }
            : {}),
          metadata: req.refundId ? { recur_refund: req.refundId } : {},
        },
        { idempotencyKey: req.idempotencyKey },
      );
      if (r.status === 'failed' || r.status === 'canceled') {
        return { status: 'failed', failureClass: 'hard_decline', code: r.failure_reason ?? 'refund_failed', message: `Stripe refund ${r.status}.`, gatewayRef: r.id };
      }
      return { status: r.status === 'succeeded' ? 'succeeded' : r.status === 'requires_action' ? 'requires_action' : 'pending', gatewayRef: r.id };
    } catch (err) {
      if (err instanceof Stripe.errors.StripeInvalidRequestError) {
        return { status: 'failed', failureClass: 'hard_decline', code: err.code ?? 'invalid_request', message: err.message };
      }
      const o = this.chargeError(err);
      if (o.status === 'failed' && o.failureClass !== 'gateway_fault') return { status: 'failed', failureClass: o.failureClass, code: o.code, message: o.message };
      return { status: 'failed', failureClass: 'gateway_fault', code: o.status === 'failed' ? o.code : 'gateway_error', message: o.status === 'failed' ? o.message : 'Stripe did not answer.' };
    }
  }
}

/** A PaymentIntent's state as a charge outcome. */
export function outcomeOfPaymentIntent(pi: Stripe.PaymentIntent): ChargeOutcome {
  if (pi.status === 'succeeded') return { status: 'succeeded', gatewayRef: pi.id };
  if (pi.status === 'processing') return faultOutcome(PAYMENT_PENDING, 'The payment is being processed by Stripe.', { gatewayRef: pi.id });
  if (pi.status === 'requires_action' || pi.status === 'requires_confirmation') {
    return { status: 'failed', failureClass: 'soft_decline', code: 'authentication_required', declineCode: 'authentication_required', message: 'The card requires authentication by the customer.', gatewayRef: pi.id };
  }
  const e = pi.last_payment_error;
  const c = classifyStripe(e?.code ?? 'card_declined', e?.decline_code ?? undefined);
  return { status: 'failed', failureClass: c.failureClass, code: c.code, declineCode: c.declineCode, message: e?.message ?? 'Your card was declined.', gatewayRef: pi.id };
}
