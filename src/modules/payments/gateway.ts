// The interface every payment gateway implements: the built-in simulated gateway now, Stripe and
// PayPal adapters later. Outcomes are normalised into classes the router and dunning act on.

export type FailureClass =
  /** may succeed later (insufficient funds, generic decline, processing error) */
  | 'soft_decline'
  /** will not succeed with this method (lost/stolen/expired card, incorrect number) */
  | 'hard_decline'
  | 'fraud'
  /** timeout, 5xx, network: the outcome may be unknown — reconcile before retrying elsewhere */
  | 'gateway_fault';

export interface CardDetails {
  number: string;
  exp_month: number;
  exp_year: number;
  cvc?: string;
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
}

export interface ChargeRequest {
  amount: number;
  currency: string;
  token: string;
  /** Sent to the gateway; the same key never charges twice. */
  idempotencyKey: string;
  customerId?: string;
  description?: string;
}

export type ChargeOutcome =
  | { status: 'succeeded'; gatewayRef: string }
  | {
      status: 'failed';
      failureClass: FailureClass;
      /** Stripe's error `code`, e.g. card_declined, expired_card, processing_error */
      code: string;
      /** Stripe's `decline_code`, e.g. insufficient_funds, lost_card, generic_decline */
      declineCode?: string;
      message: string;
      gatewayRef?: string;
    };

export interface Gateway {
  readonly name: string;
  tokenizeCard(card: CardDetails): Promise<TokenizedCard>;
  charge(req: ChargeRequest): Promise<ChargeOutcome>;
  /** Looks a charge up by its idempotency key (reconciliation after a timeout). */
  retrieveCharge(idempotencyKey: string): Promise<ChargeOutcome | null>;
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
