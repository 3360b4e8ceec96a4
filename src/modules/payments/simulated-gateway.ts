import { createHmac, randomBytes } from 'node:crypto';
import { AppError } from '../../core/errors/index.js';
import { classifyStripe } from './domain/decline-codes.js';
import type { CardDetails, ChargeOutcome, ChargeRequest, FailureClass, Gateway, RefundOutcome, RefundRequest, TokenizedCard } from './gateway.js';

// The built-in gateway: no network, deterministic, and faithful to Stripe's documented test cards,
// so development, tests, demos and the simulator exercise every decline path.

type Behavior =
  | 'succeed'
  | 'charge_customer_fail'
  | 'card_declined'
  | 'insufficient_funds'
  | 'lost_card'
  | 'stolen_card'
  | 'expired_card'
  | 'incorrect_cvc'
  | 'processing_error'
  | 'fraudulent';

/** Stripe's test card numbers → how charges on them behave. */
export const TEST_CARDS: Record<string, { behavior: Behavior; country?: string; funding?: TokenizedCard['funding'] }> = {
  '4242424242424242': { behavior: 'succeed' },
  '4000056655665556': { behavior: 'succeed', funding: 'debit' },
  '5555555555554444': { behavior: 'succeed' },
  '2223003122003222': { behavior: 'succeed' },
  '5200828282828210': { behavior: 'succeed', funding: 'debit' },
  '378282246310005': { behavior: 'succeed' },
  '6011111111111117': { behavior: 'succeed' },
  '4000000760000002': { behavior: 'succeed', country: 'BR' },
  '4000001240000000': { behavior: 'succeed', country: 'CA' },
  '4000008260000000': { behavior: 'succeed', country: 'GB' },
  '4000002760000016': { behavior: 'succeed', country: 'DE' },
  '4000000000000341': { behavior: 'charge_customer_fail' },
  '4000000000000002': { behavior: 'card_declined' },
  '4000000000009995': { behavior: 'insufficient_funds' },
  '4000000000009987': { behavior: 'lost_card' },
  '4000000000009979': { behavior: 'stolen_card' },
  '4000000000000069': { behavior: 'expired_card' },
  '4000000000000127': { behavior: 'incorrect_cvc' },
  '4000000000000119': { behavior: 'processing_error' },
  '4100000000000019': { behavior: 'fraudulent' },
};

/** Stripe's test PaymentMethod ids (`pm_card_visa`, …) → the card they stand for. */
export const TEST_PAYMENT_METHODS: Record<string, string> = {
  pm_card_visa: '4242424242424242',
  pm_card_visa_debit: '4000056655665556',
  pm_card_mastercard: '5555555555554444',
  pm_card_amex: '378282246310005',
  pm_card_discover: '6011111111111117',
  pm_card_br: '4000000760000002',
  pm_card_ca: '4000001240000000',
  pm_card_gb: '4000008260000000',
  pm_card_de: '4000002760000016',
  pm_card_chargeCustomerFail: '4000000000000341',
  pm_card_chargeDeclined: '4000000000000002',
  pm_card_chargeDeclinedInsufficientFunds: '4000000000009995',
  pm_card_chargeDeclinedLostCard: '4000000000009987',
  pm_card_chargeDeclinedStolenCard: '4000000000009979',
  pm_card_chargeDeclinedExpiredCard: '4000000000000069',
  pm_card_chargeDeclinedIncorrectCvc: '4000000000000127',
  pm_card_chargeDeclinedProcessingError: '4000000000000119',
  pm_card_chargeDeclinedFraudulent: '4100000000000019',
  // The names Stripe's testing docs give the card_declined family (same cards as above).
  pm_card_visa_chargeDeclined: '4000000000000002',
  pm_card_visa_chargeDeclinedInsufficientFunds: '4000000000009995',
  pm_card_visa_chargeDeclinedLostCard: '4000000000009987',
  pm_card_visa_chargeDeclinedStolenCard: '4000000000009979',
};

/**
 * Stripe's test card tokens (`tok_visa`, `tok_mastercard`, `tok_chargeDeclined`, …, for
 * `card[token]`) → the card they stand for: each is the `pm_card_…` test id of the same name.
 */
export const TEST_CARD_TOKENS: Record<string, string> = Object.fromEntries(
  Object.entries(TEST_PAYMENT_METHODS).map(([pm, number]) => [`tok_${pm.slice('pm_card_'.length)}`, number]),
);

// Code, decline code and message per behaviour; the class comes from the one decline table. Only
// card_declined errors carry a decline_code (Stripe's testing table: "n/a" for expired_card,
// incorrect_cvc and processing_error, which are error codes of their own).
const FAILURE_CODES: Record<Exclude<Behavior, 'succeed'>, { code: string; decline?: string; message: string }> = {
  charge_customer_fail: { code: 'card_declined', decline: 'generic_decline', message: 'Your card was declined.' },
  card_declined: { code: 'card_declined', decline: 'generic_decline', message: 'Your card was declined.' },
  insufficient_funds: { code: 'card_declined', decline: 'insufficient_funds', message: 'Your card has insufficient funds.' },
  lost_card: { code: 'card_declined', decline: 'lost_card', message: 'Your card was declined.' },
  stolen_card: { code: 'card_declined', decline: 'stolen_card', message: 'Your card was declined.' },
  expired_card: { code: 'expired_card', message: 'Your card has expired.' },
  incorrect_cvc: { code: 'incorrect_cvc', message: "Your card's security code is incorrect." },
  processing_error: { code: 'processing_error', message: 'An error occurred while processing your card. Try again in a little bit.' },
  fraudulent: { code: 'card_declined', decline: 'fraudulent', message: 'Your card was declined.' },
};

const FAILURES: Record<Exclude<Behavior, 'succeed'>, { cls: FailureClass; code: string; decline?: string; message: string }> = Object.fromEntries(
  Object.entries(FAILURE_CODES).map(([k, f]) => [k, { ...f, cls: classifyStripe(f.code, f.decline).failureClass }]),
) as Record<Exclude<Behavior, 'succeed'>, { cls: FailureClass; code: string; decline?: string; message: string }>;

export class CardError extends AppError {
  constructor(code: string, message: string, param: string, declineCode?: string) {
    super(402, 'card_error', code, message, param, declineCode ? { decline_code: declineCode } : undefined);
  }
}

export function luhnValid(number: string): boolean {
  let sum = 0;
  for (let i = 0; i < number.length; i++) {
    let d = Number(number[number.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return number.length >= 12 && sum % 10 === 0;
}

export function cardBrand(number: string): string {
  if (/^4/.test(number)) return 'visa';
  if (/^(5[1-5]|2(2[2-9][1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720))/.test(number)) return 'mastercard';
  if (/^3[47]/.test(number)) return 'amex';
  if (/^(6011|65|64[4-9])/.test(number)) return 'discover';
  if (/^35(2[89]|[3-8]\d)/.test(number)) return 'jcb';
  if (/^3(0[0-5]|[68])/.test(number)) return 'diners';
  return 'unknown';
}

/** 16 random letters (a–p): a token holds no digits, so no card number or CVC can appear in one, even by chance. */
function randomLetters(): string {
  return randomBytes(8).toString('hex').replace(/\d/g, (d) => 'ghijklmnop'[Number(d)]!);
}

export interface SimulatedGatewayOptions {
  /**
   * Keys the card fingerprint (HMAC-SHA256 of the number): the installation's own random secret
   * (`readFingerprintSecret`, migration 0015), so the same card has the same fingerprint within one
   * installation and a fingerprint cannot be reversed by hashing candidate numbers under a known key.
   * Required, with no default. A promise (the secret being read) is awaited when a card is tokenised:
   * start the read before any transaction is open (PGlite is one connection).
   */
  fingerprintSecret: string | Promise<string>;
  /** The current time, for expiry checks. */
  now: () => Date;
}

function checkedSecret(secret: unknown): string {
  if (typeof secret !== 'string' || secret.length === 0) throw new Error('SimulatedGateway: fingerprintSecret must be a non-empty string');
  return secret;
}

export class SimulatedGateway implements Gateway {
  readonly name = 'simulated';
  private readonly charges = new Map<string, ChargeOutcome>();
  private readonly refunds = new Map<string, RefundOutcome>();
  private readonly fingerprintSecret: Promise<string>;

  constructor(private readonly opts: SimulatedGatewayOptions) {
    const given: unknown = opts.fingerprintSecret;
    if (given instanceof Promise) {
      this.fingerprintSecret = given.then(checkedSecret);
      // Not an unhandled rejection while no card is tokenised (an app built over a database that is down).
      this.fingerprintSecret.catch(() => undefined);
    } else {
      this.fingerprintSecret = Promise.resolve(checkedSecret(given));
    }
  }

  async tokenizeCard(card: CardDetails): Promise<TokenizedCard> {
    const number = card.number.replace(/[\s-]/g, '');
    if (!/^\d{12,19}$/.test(number) || !luhnValid(number)) throw new CardError('incorrect_number', 'Your card number is incorrect.', 'card[number]');
    if (!Number.isInteger(card.exp_month) || card.exp_month < 1 || card.exp_month > 12) {
      throw new CardError('invalid_expiry_month', "Your card's expiration month is invalid.", 'card[exp_month]');
    }
    const now = this.opts.now();
    const expYear = card.exp_year < 100 ? 2000 + card.exp_year : card.exp_year;
    if (expYear < now.getUTCFullYear() || (expYear === now.getUTCFullYear() && card.exp_month < now.getUTCMonth() + 1)) {
      throw new CardError('invalid_expiry_year', "Your card's expiration year is in the past.", 'card[exp_year]');
    }
    if (card.cvc !== undefined && !/^\d{3,4}$/.test(card.cvc)) throw new CardError('invalid_cvc', "Your card's security code is invalid.", 'card[cvc]');
    const known = TEST_CARDS[number];
    const fingerprint = createHmac('sha256', await this.fingerprintSecret).update(number).digest('base64url').slice(0, 16);
    return {
      // The token carries the behaviour, never the number: the number is gone after this call.
      token: `simtok_${known?.behavior ?? 'succeed'}_${randomLetters()}`,
      brand: cardBrand(number),
      last4: number.slice(-4),
      exp_month: card.exp_month,
      exp_year: expYear,
      country: known?.country ?? 'US',
      fingerprint,
      funding: known?.funding ?? 'credit',
    };
  }

  async charge(req: ChargeRequest): Promise<ChargeOutcome> {
    const previous = this.charges.get(req.idempotencyKey);
    if (previous) return previous;
    const behavior = /^simtok_([a-z_]+)_[0-9a-p]+$/.exec(req.token)?.[1] as Behavior | undefined;
    let outcome: ChargeOutcome;
    if (!behavior) {
      outcome = { status: 'failed', failureClass: 'hard_decline', code: 'payment_method_invalid', message: 'The payment method is not usable with this gateway.' };
    } else if (behavior === 'succeed') {
      outcome = { status: 'succeeded', gatewayRef: `ch_sim_${randomBytes(10).toString('hex')}` };
    } else {
      const f = FAILURES[behavior];
      outcome = { status: 'failed', failureClass: f.cls, code: f.code, declineCode: f.decline, message: f.message, gatewayRef: `ch_sim_${randomBytes(10).toString('hex')}` };
    }
    this.charges.set(req.idempotencyKey, outcome);
    if (this.charges.size > 100_000) this.charges.delete(this.charges.keys().next().value as string);
    return outcome;
  }

  async retrieveCharge(idempotencyKey: string): Promise<ChargeOutcome | null> {
    return this.charges.get(idempotencyKey) ?? null;
  }

  async refund(req: RefundRequest): Promise<RefundOutcome> {
    const previous = this.refunds.get(req.idempotencyKey);
    if (previous) return previous;
    const captured = [...this.charges.values()].find((c) => c.status === 'succeeded' && c.gatewayRef === req.gatewayRef);
    const outcome: RefundOutcome = captured
      ? { status: 'succeeded', gatewayRef: `re_sim_${randomBytes(10).toString('hex')}` }
      : { status: 'failed', failureClass: 'hard_decline', code: 'charge_not_found', message: `No such charge: '${req.gatewayRef}'` };
    this.refunds.set(req.idempotencyKey, outcome);
    return outcome;
  }
}
