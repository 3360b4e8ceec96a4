import { createHmac, randomUUID } from 'node:crypto';
import {
  ApiError,
  CheckoutPaymentIntent,
  Client,
  Environment,
  OrdersController,
  PaymentsController,
  VaultController,
  type Order,
  type OrdersCapture,
} from '@paypal/paypal-server-sdk';
import { currencyExponent } from '../../core/money/index.js';
import { classifyPayPalIssue, classifyPayPalProcessor } from './domain/decline-codes.js';
import { faultOutcome, PAYMENT_PENDING, type CardDetails, type ChargeOutcome, type ChargeRequest, type Gateway, type RefundOutcome, type RefundRequest, type TokenizedCard } from './gateway.js';
import { CardError, cardBrand } from './simulated-gateway.js';
import type { PayPalSettings } from './config.js';

// The PayPal adapter, on PayPal's official server SDK. A saved card is a vault payment token
// (Payment Method Tokens API v3). A charge is an order created with intent CAPTURE and the token as
// payment_source.card.vault_id, captured (card orders complete in the create call; others are captured
// next), with Recur's idempotency key as PayPal-Request-Id. PayPal has no lookup by that id, but it
// answers a repeated request with the same PayPal-Request-Id with the original result instead of
// acting again: reconciliation replays the original request, which never charges twice.

/** Network errors that mean the request never reached PayPal. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

const SANDBOX = 'https://api-m.sandbox.paypal.com';
const LIVE = 'https://api-m.paypal.com';

/**
 * PayPal's SDK knows only its two hosts. A client whose requests go to `apiBase` instead (a local
 * server in tests, a proxy): every request the SDK builds — the OAuth token call included — is
 * rewritten from the SDK's host to ours before it is sent.
 */
class RebasedClient extends Client {
  apiBase: string | undefined;

  override getRequestBuilderFactory(): ReturnType<Client['getRequestBuilderFactory']> {
    const inner = super.getRequestBuilderFactory();
    return ((method: Parameters<typeof inner>[0], path?: string) => {
      const rb = inner(method, path);
      const base = this.apiBase;
      if (base) {
        rb.interceptRequest((req) => ({ ...req, url: req.url.startsWith(SANDBOX) ? base + req.url.slice(SANDBOX.length) : req.url.startsWith(LIVE) ? base + req.url.slice(LIVE.length) : req.url }));
      }
      return rb;
    }) as typeof inner;
  }
}

export function createPayPalClient(settings: PayPalSettings): Client {
  const client = new RebasedClient({
    clientCredentialsAuthCredentials: { oAuthClientId: settings.clientId, oAuthClientSecret: settings.clientSecret },
    environment: settings.environment === 'production' ? Environment.Production : Environment.Sandbox,
    timeout: settings.timeoutMs,
  });
  client.apiBase = settings.apiBase?.replace(/\/+$/, '');
  return client;
}

/** Currencies PayPal takes without decimals although they have two ("Decimal amounts cause an error"). */
const PAYPAL_WHOLE_UNITS = new Set(['huf', 'twd']);

/** Minor units → PayPal's decimal string ("12.34"; JPY "1234"; HUF 17500 → "175"). */
export function toPayPalValue(amount: number, currency: string): string {
  const exp = currencyExponent(currency);
  if (exp === 0) return String(amount);
  // A whole amount goes as whole units; a fractional one keeps its decimals and PayPal refuses it,
  // rather than being charged a rounded amount the invoice does not show.
  if (PAYPAL_WHOLE_UNITS.has(currency.toLowerCase()) && amount % 10 ** exp === 0) return String(amount / 10 ** exp);
  const s = String(Math.abs(amount)).padStart(exp + 1, '0');
  return `${amount < 0 ? '-' : ''}${s.slice(0, -exp)}.${s.slice(-exp)}`;
}

const BRANDS: Record<string, string> = { VISA: 'visa', MASTERCARD: 'mastercard', MASTER_CARD: 'mastercard', AMEX: 'amex', DISCOVER: 'discover', JCB: 'jcb', DINERS: 'diners' };

export class PayPalGateway implements Gateway {
  readonly name = 'paypal';
  readonly client: Client;
  private readonly orders: OrdersController;
  private readonly payments: PaymentsController;
  private readonly vault: VaultController;

  constructor(private readonly settings: PayPalSettings) {
    this.client = createPayPalClient(settings);
    this.orders = new OrdersController(this.client);
    this.payments = new PaymentsController(this.client);
    this.vault = new VaultController(this.client);
  }

  async tokenizeCard(card: CardDetails): Promise<TokenizedCard> {
    const number = card.number.replace(/[\s-]/g, '');
    const expYear = card.exp_year < 100 ? 2000 + card.exp_year : card.exp_year;
    try {
      const { result } = await this.vault.createPaymentToken({
        body: {
          paymentSource: { card: { number, expiry: `${expYear}-${String(card.exp_month).padStart(2, '0')}`, ...(card.cvc ? { securityCode: card.cvc } : {}) } },
          ...(card.customer ? { customer: { merchantCustomerId: card.customer.id } } : {}),
        },
        paypalRequestId: randomUUID(),
      });
      const c = result.paymentSource?.card;
      if (!result.id) throw new Error('PayPal returned a payment token without an id');
      const [y, m] = (c?.expiry ?? `${expYear}-${card.exp_month}`).split('-');
      return {
        token: result.id,
        brand: (c?.brand && BRANDS[String(c.brand)]) || cardBrand(number),
        last4: c?.lastDigits ?? number.slice(-4),
        exp_month: Number(m),
        exp_year: Number(y),
        country: null,
        // PayPal gives no fingerprint: one keyed by the account, stable for the same number.
        fingerprint: createHmac('sha256', `recur-paypal:${this.settings.clientId}`).update(number).digest('base64url').slice(0, 16),
        funding: 'unknown',
      };
    } catch (err) {
      if (err instanceof ApiError && err.statusCode >= 400 && err.statusCode < 500) {
        const issue = issueOf(err);
        const c = classifyPayPalIssue(issue);
        throw new CardError(c?.declineCode === 'expired_card' ? 'expired_card' : 'card_declined', messageOf(err), 'card', c?.declineCode ?? 'generic_decline');
      }
      throw err;
    }
  }

  async charge(req: ChargeRequest): Promise<ChargeOutcome> {
    try {
      const { result: order } = await this.orders.createOrder({
        body: {
          intent: CheckoutPaymentIntent.Capture,
          purchaseUnits: [
            {
              amount: { currencyCode: req.currency.toUpperCase(), value: toPayPalValue(req.amount, req.currency) },
              customId: req.idempotencyKey.slice(0, 127),
              ...(req.description ? { description: req.description.slice(0, 127) } : {}),
            },
          ],
          paymentSource: {
            card: {
              vaultId: req.token,
              storedCredential: { paymentInitiator: 'MERCHANT', paymentType: 'UNSCHEDULED', usage: 'SUBSEQUENT' } as never,
            },
          },
        },
        paypalRequestId: req.idempotencyKey,
        prefer: 'return=representation',
      });
      if (order.status === 'COMPLETED') return outcomeOfOrder(order);
      if (order.status === 'PAYER_ACTION_REQUIRED') {
        return { status: 'failed', failureClass: 'soft_decline', code: 'authentication_required', declineCode: 'authentication_required', message: 'PayPal requires the payer to act (3-D Secure).', ...(order.id ? { gatewayRef: order.id } : {}) };
      }
      // A payment source that does not complete on creation (CREATED / APPROVED) is captured now.
      const { result: captured } = await this.orders.captureOrder({ id: order.id!, paypalRequestId: `${req.idempotencyKey}:capture`, prefer: 'return=representation' });
      return outcomeOfOrder(captured);
    } catch (err) {
      return errorOutcome(err);
    }
  }

  /** Replays the original request under the same PayPal-Request-Id: PayPal answers with what it did the first time. */
  async retrieveCharge(idempotencyKey: string, req?: ChargeRequest): Promise<ChargeOutcome | null> {
    if (!req) throw new Error('PayPal reconciliation needs the original request (PayPal has no lookup by PayPal-Request-Id).');
    const outcome = await this.charge({ ...req, idempotencyKey });
    if (outcome.status === 'failed' && outcome.failureClass === 'gateway_fault' && outcome.code !== PAYMENT_PENDING) throw new Error(`PayPal did not answer: ${outcome.message}`);
    return outcome;
  }

  async refund(req: RefundRequest): Promise<RefundOutcome> {
    try {
      const { result } = await this.payments.refundCapturedPayment({
        captureId: req.gatewayRef,
        paypalRequestId: req.idempotencyKey,
        prefer: 'return=representation',
        body: { amount: { currencyCode: req.currency.toUpperCase(), value: toPayPalValue(req.amount, req.currency) }, ...(req.refundId ? { customId: req.refundId } : {}) },
      });
      const status = String(result.status ?? 'PENDING');
      if (status === 'COMPLETED') return { status: 'succeeded', gatewayRef: result.id! };
      if (status === 'FAILED' || status === 'CANCELLED') return { status: 'failed', failureClass: 'hard_decline', code: `refund_${status.toLowerCase()}`, message: `PayPal refund ${status}.`, gatewayRef: result.id };
      return { status: 'pending', gatewayRef: result.id! };
    } catch (err) {
      if (err instanceof ApiError && err.statusCode >= 400 && err.statusCode < 500) {
        return { status: 'failed', failureClass: 'hard_decline', code: (issueOf(err) ?? 'refund_refused').toLowerCase(), message: messageOf(err) };
      }
      const o = errorOutcome(err);
      return { status: 'failed', failureClass: 'gateway_fault', code: o.status === 'failed' ? o.code : 'gateway_error', message: o.status === 'failed' ? o.message : 'PayPal did not answer.' };
    }
  }
}

function captureOf(order: Order): OrdersCapture | undefined {
  return order.purchaseUnits?.[0]?.payments?.captures?.[0];
}

/** A completed order's capture as a charge outcome. */
export function outcomeOfOrder(order: Order): ChargeOutcome {
  const capture = captureOf(order);
  if (!capture) return faultOutcome('gateway_error', `PayPal order ${order.id ?? ''} has no capture.`);
  const status = String(capture.status);
  if (status === 'COMPLETED' || status === 'PARTIALLY_REFUNDED' || status === 'REFUNDED') return { status: 'succeeded', gatewayRef: capture.id! };
  if (status === 'PENDING') return faultOutcome(PAYMENT_PENDING, 'PayPal holds the capture as pending.', { gatewayRef: capture.id });
  const c = classifyPayPalProcessor(capture.processorResponse?.responseCode ? String(capture.processorResponse.responseCode) : undefined);
  return { status: 'failed', failureClass: c.failureClass, code: c.code, declineCode: c.declineCode, message: 'The card was declined by PayPal.', ...(capture.id ? { gatewayRef: capture.id } : {}) };
}

interface PayPalErrorBody {
  name?: string;
  message?: string;
  details?: { issue?: string; description?: string }[];
}

function bodyOf(err: ApiError): PayPalErrorBody | undefined {
  if (err.result && typeof err.result === 'object') return err.result as PayPalErrorBody;
  if (typeof err.body === 'string') {
    try {
      return JSON.parse(err.body) as PayPalErrorBody;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function issueOf(err: ApiError): string | undefined {
  const b = bodyOf(err);
  return b?.details?.[0]?.issue ?? b?.name;
}

function messageOf(err: ApiError): string {
  const b = bodyOf(err);
  return b?.details?.[0]?.description ?? b?.message ?? err.message;
}

function errorOutcome(err: unknown): ChargeOutcome {
  if (err instanceof ApiError) {
    const status = err.statusCode;
    if (status === 401 || status === 403 || status === 429) return faultOutcome('gateway_unavailable', messageOf(err), { notProcessed: true });
    if (status >= 500) return faultOutcome('gateway_error', messageOf(err));
    const c = classifyPayPalIssue(issueOf(err));
    if (c) return { status: 'failed', failureClass: c.failureClass, code: c.code, declineCode: c.declineCode, message: messageOf(err) };
    return { status: 'failed', failureClass: 'hard_decline', code: 'payment_method_invalid', declineCode: 'generic_decline', message: messageOf(err) };
  }
  const e = err as { code?: string; message?: string };
  return faultOutcome('gateway_unavailable', `PayPal did not answer: ${e.message ?? String(err)}`, { notProcessed: e.code !== undefined && NOT_SENT.has(e.code) });
}

/**
 * PayPal's webhook verification: POST /v1/notifications/verify-webhook-signature with the transmission
 * headers, the webhook id and the event — through the SDK's own request pipeline (OAuth, host). The
 * raw event body is embedded as it arrived (re-serialising a parsed event can change it and fail).
 */
export async function verifyPayPalWebhook(
  client: Client,
  input: { authAlgo: string; certUrl: string; transmissionId: string; transmissionSig: string; transmissionTime: string; webhookId: string; rawEvent: string },
): Promise<boolean> {
  const rb = client.getRequestBuilderFactory()('POST', '/v1/notifications/verify-webhook-signature');
  rb.baseUrl('default');
  rb.header('Content-Type', 'application/json');
  rb.authenticate([{ oauth2: true }]);
  const head = JSON.stringify({
    auth_algo: input.authAlgo,
    cert_url: input.certUrl,
    transmission_id: input.transmissionId,
    transmission_sig: input.transmissionSig,
    transmission_time: input.transmissionTime,
    webhook_id: input.webhookId,
  });
  rb.text(`${head.slice(0, -1)},"webhook_event":${input.rawEvent}}`);
  const res = await rb.callAsText();
  const parsed = JSON.parse(res.result) as { verification_status?: string };
  return parsed.verification_status === 'SUCCESS';
}
