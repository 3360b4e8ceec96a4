// The interface every payment gateway implements: the built-in simulated gateway, Stripe, PayPal, and
// the router that chooses among them (src/modules/payments/router.ts). Outcomes are normalised into
// classes the router and dunning act on (see domain/decline-codes.ts for the one classification table).

export type FailureClass =
  /** may succeed later (insufficient funds, generic decline, processing error) */
  | 'soft_decline'
  /** will not succeed with this method (lost/stolen/expired card, incorrect number) */
  | 'hard_decline'
  | 'fraud'
  /** timeout, 5xx, network: the outcome may be unknown — reconcile before retrying elsewhere */
  | 'gateway_fault';

/** Who a card is saved for, when known (gateways that keep customers use it). */
export interface GatewayCustomer {
  id: string;
  email?: string | null;
  name?: string | null;
}

export interface CardDetails {
  number: string;
  exp_month: number;
  exp_year: number;
  cvc?: string;
  customer?: GatewayCustomer;
}

/** What a gateway gives back for a card: never the number or CVC. */
export interface TokenizedCard {
  token: string;
  brand: string;
  last4: string;
  exp_month: number;
  exp_year: number;
  country: string | null;
  fingerprint: string;
  funding: 'credit' | 'debit' | 'prepaid' | 'unknown';
  /**
   * The CVC check's result when a CVC was given and the gateway reports one (Stripe's
   * `card.checks.cvc_check`); absent: a given CVC counts as passed.
   */
  cvc_check?: CvcCheckResult;
}

/** Stripe's values of `card.checks.cvc_check` (null when no CVC was given). */
export type CvcCheckResult = 'pass' | 'fail' | 'unavailable' | 'unchecked';

/** What the router decides on, beyond amount and currency (all optional: a caller gives what it knows). */
export interface ChargeContext {
  paymentMethodId?: string;
  paymentMethodType?: string;
  brand?: string;
  cardCountry?: string | null;
  customerCountry?: string | null;
  ip?: string | null;
  /**
   * The attempt's stored gateway reference when an attempt whose outcome was unknown is resumed: it
   * names the gateways that may have seen the idempotency key (see router.ts, encodeGatewayRef).
   */
  previousRef?: string | null;
}

export interface ChargeRequest {
  amount: number;
  currency: string;
  token: string;
  /** Sent to the gateway; the same key never charges twice. */
  idempotencyKey: string;
  customerId?: string;
  description?: string;
  context?: ChargeContext;
}

/** One gateway tried by the router for an attempt. */
export interface RouteStep {
  gateway: string;
  result: 'succeeded' | FailureClass | 'skipped_open_circuit' | 'no_token' | 'no_charge_found';
  code?: string;
}

export interface RoutingInfo {
  /** The routing rule that chose the gateway list (null: the default order). */
  rule: string | null;
  candidates: string[];
  steps: RouteStep[];
  /** The success-rate ordering explored a gateway other than the best-rated one. */
  explored: boolean;
  /** The outcome was found by reconciling an earlier unknown attempt, not by a new charge. */
  reconciled: boolean;
}

export type ChargeOutcome =
  | {
      status: 'succeeded';
      gatewayRef: string;
      /** The gateway that took the money (set by the router; a plain gateway leaves it unset). */
      gateway?: string;
      routing?: RoutingInfo;
    }
  | {
      status: 'failed';
      failureClass: FailureClass;
      /** Stripe's error `code`, e.g. card_declined, expired_card, processing_error */
      code: string;
      /** Stripe's `decline_code`, e.g. insufficient_funds, lost_card, generic_decline */
      declineCode?: string;
      message: string;
      gatewayRef?: string;
      gateway?: string;
      routing?: RoutingInfo;
      /**
       * gateway_fault only: the request certainly did not reach the gateway (connection refused, DNS,
       * rate limited, open circuit), so another gateway may be tried at once without reconciling.
       */
      notProcessed?: boolean;
      /** gateway_fault only: the gateways that may have seen the idempotency key (router). */
      tried?: string[];
    };

export interface RefundRequest {
  /** The gateway's reference for the captured payment (Stripe PaymentIntent, PayPal capture id). */
  gatewayRef: string;
  amount: number;
  currency: string;
  idempotencyKey: string;
  reason?: string | null;
  /** Recur's refund id, stored with the gateway's refund. */
  refundId?: string;
}

export type RefundOutcome =
  | { status: 'succeeded' | 'pending' | 'requires_action'; gatewayRef: string }
  | { status: 'failed'; failureClass: FailureClass; code: string; message: string; gatewayRef?: string };

/** Saving a card through the gateway's own page or element (Stripe.js SetupIntent, PayPal setup token). */
export interface CardSetup {
  id: string;
  clientSecret: string | null;
  /** Stripe's publishable key for Stripe.js, when configured. */
  publishableKey: string | null;
  status: string;
}

export interface Gateway {
  readonly name: string;
  tokenizeCard(card: CardDetails): Promise<TokenizedCard>;
  charge(req: ChargeRequest): Promise<ChargeOutcome>;
  /**
   * The outcome of the charge made with this idempotency key, without ever making a second one
   * (reconciliation after a timeout). null: the gateway authoritatively has no charge for the key.
   * Throws when it cannot tell (unreachable). `req` is the original request: a gateway without a
   * lookup (PayPal) answers by replaying it under the same key, which the gateway deduplicates.
   */
  retrieveCharge(idempotencyKey: string, req?: ChargeRequest): Promise<ChargeOutcome | null>;
  refund?(req: RefundRequest): Promise<RefundOutcome>;
  /** Creates or updates the gateway's customer record for a saved card (name, email). */
  syncCustomer?(token: string, customer: GatewayCustomer): Promise<void>;
  /** Starts saving a card on the gateway's hosted element (Stripe.js / PayPal JS SDK). */
  createCardSetup?(customer: GatewayCustomer): Promise<CardSetup>;
  /** Finishes a card setup confirmed by the customer: the saved card, ready for off-session charges. */
  completeCardSetup?(setupId: string): Promise<TokenizedCard>;
  /** Saves a card the gateway's own element created (a Stripe.js `pm_…` id) for off-session use. */
  importPaymentMethod?(gatewayPaymentMethod: string, customer?: GatewayCustomer): Promise<TokenizedCard>;
}

export interface Gateways {
  /** The gateway new payment methods are saved with. */
  readonly default: Gateway;
  get(name: string): Gateway;
}

export function gatewaysOf(list: Gateway[]): Gateways {
  const byName = new Map(list.map((g) => [g.name, g]));
  if (list.length === 0) throw new Error('at least one gateway is required');
  return {
    default: list[0]!,
    get(name) {
      const g = byName.get(name);
      if (!g) throw new Error(`Unknown gateway: ${name}`);
      return g;
    },
  };
}

/** A gateway fault: the outcome of the call is unknown unless `notProcessed`. */
export function faultOutcome(code: string, message: string, opts: { notProcessed?: boolean; gatewayRef?: string } = {}): ChargeOutcome {
  return {
    status: 'failed',
    failureClass: 'gateway_fault',
    code,
    message,
    ...(opts.gatewayRef ? { gatewayRef: opts.gatewayRef } : {}),
    ...(opts.notProcessed ? { notProcessed: true } : {}),
  };
}

/** An outcome the gateway has not settled yet (asynchronous capture): no failover, a webhook settles it. */
export const PAYMENT_PENDING = 'payment_pending';
