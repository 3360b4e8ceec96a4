import { createHmac, randomBytes } from 'node:crypto';
import { AppError } from '../../core/errors/index.js';
import { classifyStripe } from './domain/decline-codes.js';
import type { CardDetails, ChargeOutcome, ChargeRequest, CvcCheckResult, FailureClass, Gateway, RefundOutcome, RefundRequest, TokenizedCard } from './gateway.js';

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
  | 'fraudulent'
  | 'card_velocity_exceeded';


/**
 * Stripe's test card numbers → how charges on them behave, and the card facts Stripe gives them
 * (https://docs.stripe.com/testing: cards by brand, cards by country, declined payments, fraud
 * prevention). Numbers not listed are Visa/Mastercard/… by prefix, US, credit, and succeed.
 */
export const TEST_CARDS: Record<string, { behavior: Behavior; country?: string; funding?: TokenizedCard['funding']; cvcCheck?: CvcCheckResult }> = {
  // Cards by brand.
  '4242424242424242': { behavior: 'succeed' },
  '4000056655665556': { behavior: 'succeed', funding: 'debit' },
  '5555555555554444': { behavior: 'succeed' },
  '2223003122003222': { behavior: 'succeed' },
  '5200828282828210': { behavior: 'succeed', funding: 'debit' },
  '5105105105105100': { behavior: 'succeed', funding: 'prepaid' },
  '378282246310005': { behavior: 'succeed' },
  '6011111111111117': { behavior: 'succeed' },
  '6011000990139424': { behavior: 'succeed' },
  '6011981111111113': { behavior: 'succeed', funding: 'debit' },
  '3056930009020004': { behavior: 'succeed' },
  '36227206271667': { behavior: 'succeed' },
  '3566002020360505': { behavior: 'succeed' },
  '6200000000000005': { behavior: 'succeed' },
  '6200000000000047': { behavior: 'succeed', funding: 'debit' },
  // Cards by country ("Cards by country"), Americas.
  '4000008400001629': { behavior: 'succeed', country: 'US' },
  '4000000320000021': { behavior: 'succeed', country: 'AR' },
  '4000000760000002': { behavior: 'succeed', country: 'BR' },
  '4000001240000000': { behavior: 'succeed', country: 'CA' },
  '4000001520000001': { behavior: 'succeed', country: 'CL' },
  '4000001700000003': { behavior: 'succeed', country: 'CO' },
  '4000001880000005': { behavior: 'succeed', country: 'CR' },
  '4000002180000000': { behavior: 'succeed', country: 'EC' },
  '4000004840008001': { behavior: 'succeed', country: 'MX' },
  '4000005910000000': { behavior: 'succeed', country: 'PA' },
  '4000006000000066': { behavior: 'succeed', country: 'PY' },
  '4000006040000068': { behavior: 'succeed', country: 'PE' },
  '4000008580000003': { behavior: 'succeed', country: 'UY' },
  // Europe and Middle East.
  '4000007840000001': { behavior: 'succeed', country: 'AE' },
  '5200007840000022': { behavior: 'succeed', country: 'AE' },
  '4000000400000008': { behavior: 'succeed', country: 'AT' },
  '4000000560000004': { behavior: 'succeed', country: 'BE' },
  '4000001000000000': { behavior: 'succeed', country: 'BG' },
  '4000001120000005': { behavior: 'succeed', country: 'BY' },
  '4000001910000009': { behavior: 'succeed', country: 'HR' },
  '4000001960000008': { behavior: 'succeed', country: 'CY' },
  '4000002030000002': { behavior: 'succeed', country: 'CZ' },
  '4000002080000001': { behavior: 'succeed', country: 'DK' },
  '4000002330000009': { behavior: 'succeed', country: 'EE' },
  '4000002460000001': { behavior: 'succeed', country: 'FI' },
  '4000002500000003': { behavior: 'succeed', country: 'FR' },
  '4000002760000016': { behavior: 'succeed', country: 'DE' },
  '4000002920000005': { behavior: 'succeed', country: 'GI' },
  '4000003000000030': { behavior: 'succeed', country: 'GR' },
  '4000003480000005': { behavior: 'succeed', country: 'HU' },
  '4000003720000005': { behavior: 'succeed', country: 'IE' },
  '4000003800000008': { behavior: 'succeed', country: 'IT' },
  '4000004280000005': { behavior: 'succeed', country: 'LV' },
  '4000004380000004': { behavior: 'succeed', country: 'LI' },
  '4000004400000000': { behavior: 'succeed', country: 'LT' },
  '4000004420000006': { behavior: 'succeed', country: 'LU' },
  '4000004700000007': { behavior: 'succeed', country: 'MT' },
  '4000005280000002': { behavior: 'succeed', country: 'NL' },
  '4000005780000007': { behavior: 'succeed', country: 'NO' },
  '4000006160000005': { behavior: 'succeed', country: 'PL' },
  '4000006200000007': { behavior: 'succeed', country: 'PT' },
  '4000006420000001': { behavior: 'succeed', country: 'RO' },
  '4000006820000007': { behavior: 'succeed', country: 'SA' },
  '4000007050000006': { behavior: 'succeed', country: 'SI' },
  '4000007030000001': { behavior: 'succeed', country: 'SK' },
  '4000007240000007': { behavior: 'succeed', country: 'ES' },
  '4000007520000008': { behavior: 'succeed', country: 'SE' },
  '4000007560000009': { behavior: 'succeed', country: 'CH' },
  '4000008260000000': { behavior: 'succeed', country: 'GB' },
  '4000058260000005': { behavior: 'succeed', country: 'GB', funding: 'debit' },
  '5555558265554449': { behavior: 'succeed', country: 'GB' },
  // Asia Pacific.
  '4000000360000006': { behavior: 'succeed', country: 'AU' },
  '4000001560000002': { behavior: 'succeed', country: 'CN' },
  '4000003440000004': { behavior: 'succeed', country: 'HK' },
  '4000003560000008': { behavior: 'succeed', country: 'IN' },
  '4000003920000003': { behavior: 'succeed', country: 'JP' },
  '3530111333300000': { behavior: 'succeed', country: 'JP' },
  '4000004580000002': { behavior: 'succeed', country: 'MY' },
  '4000005540000008': { behavior: 'succeed', country: 'NZ' },
  '4000007020000003': { behavior: 'succeed', country: 'SG' },
  '4000001580000008': { behavior: 'succeed', country: 'TW' },
  '4000007640000003': { behavior: 'succeed', country: 'TH' },
  '4000057640000008': { behavior: 'succeed', country: 'TH', funding: 'debit' },
  // Declined payments.
  '4000000000000341': { behavior: 'charge_customer_fail' },
  '4000000000000002': { behavior: 'card_declined' },
  '4000000000009995': { behavior: 'insufficient_funds' },
  '4000000000009987': { behavior: 'lost_card' },
  '4000000000009979': { behavior: 'stolen_card' },
  '4000000000000069': { behavior: 'expired_card' },
  '4000000000000127': { behavior: 'incorrect_cvc' },
  '4000000000000119': { behavior: 'processing_error' },
  '4000000000006975': { behavior: 'card_velocity_exceeded' },
  // Fraud prevention: always blocked; and a failed CVC check when a CVC is given (the charge still
  // succeeds: Stripe's Radar "might block it depending on your settings", and there are no Radar rules here).
  '4100000000000019': { behavior: 'fraudulent' },
  '4000000000000101': { behavior: 'succeed', cvcCheck: 'fail' },
};

/** Stripe's test PaymentMethod ids (`pm_card_visa`, …) → the card they stand for. */
export const TEST_PAYMENT_METHODS: Record<string, string> = {
  pm_card_visa: '4242424242424242',
  pm_card_visa_debit: '4000056655665556',
  pm_card_mastercard: '5555555555554444',
  pm_card_mastercard_debit: '5200828282828210',
  pm_card_mastercard_prepaid: '5105105105105100',
  pm_card_amex: '378282246310005',
  pm_card_discover: '6011111111111117',
  pm_card_discover_debit: '6011981111111113',
  pm_card_diners: '3056930009020004',
  pm_card_jcb: '3566002020360505',
  pm_card_unionpay: '6200000000000005',
  pm_card_unionpay_debit: '6200000000000047',
  // Cards by country (Stripe's pm_card_<country> ids).
  pm_card_us: '4000008400001629',
  pm_card_ar: '4000000320000021',
  pm_card_br: '4000000760000002',
  pm_card_ca: '4000001240000000',
  pm_card_cl: '4000001520000001',
  pm_card_co: '4000001700000003',
  pm_card_cr: '4000001880000005',
  pm_card_ec: '4000002180000000',
  pm_card_mx: '4000004840008001',
  pm_card_pa: '4000005910000000',
  pm_card_py: '4000006000000066',
  pm_card_pe: '4000006040000068',
  pm_card_uy: '4000008580000003',
  pm_card_ae: '4000007840000001',
  pm_card_ae_mastercard: '5200007840000022',
  pm_card_at: '4000000400000008',
  pm_card_be: '4000000560000004',
  pm_card_bg: '4000001000000000',
  pm_card_by: '4000001120000005',
  pm_card_hr: '4000001910000009',
  pm_card_cy: '4000001960000008',
  pm_card_cz: '4000002030000002',
  pm_card_dk: '4000002080000001',
  pm_card_ee: '4000002330000009',
  pm_card_fi: '4000002460000001',
  pm_card_fr: '4000002500000003',
  pm_card_de: '4000002760000016',
  pm_card_gi: '4000002920000005',
  pm_card_gr: '4000003000000030',
  pm_card_hu: '4000003480000005',
  pm_card_ie: '4000003720000005',
  pm_card_it: '4000003800000008',
  pm_card_lv: '4000004280000005',
  pm_card_li: '4000004380000004',
  pm_card_lt: '4000004400000000',
  pm_card_lu: '4000004420000006',
  pm_card_mt: '4000004700000007',
  pm_card_nl: '4000005280000002',
  pm_card_no: '4000005780000007',
  pm_card_pl: '4000006160000005',
  pm_card_pt: '4000006200000007',
  pm_card_ro: '4000006420000001',
  pm_card_si: '4000007050000006',
  pm_card_sk: '4000007030000001',
  pm_card_es: '4000007240000007',
  pm_card_se: '4000007520000008',
  pm_card_ch: '4000007560000009',
  pm_card_gb: '4000008260000000',
  pm_card_gb_debit: '4000058260000005',
  pm_card_gb_mastercard: '5555558265554449',
  pm_card_au: '4000000360000006',
  pm_card_cn: '4000001560000002',
  pm_card_hk: '4000003440000004',
  pm_card_in: '4000003560000008',
  pm_card_jp: '4000003920000003',
  pm_card_my: '4000004580000002',
  pm_card_nz: '4000005540000008',
  pm_card_sg: '4000007020000003',
  pm_card_tw: '4000001580000008',
  pm_card_th_credit: '4000007640000003',
  pm_card_th_debit: '4000057640000008',
  // Declines.
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
  pm_card_visa_chargeDeclinedVelocityLimitExceeded: '4000000000006975',
  // Fraud prevention: "Always blocked".
  pm_card_radarBlock: '4100000000000019',
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
  card_velocity_exceeded: { code: 'card_declined', decline: 'card_velocity_exceeded', message: 'Your card was declined.' },
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
  // UnionPay (Stripe's test cards 6200000000000005, 6200000000000047, 6205500000000000004). Some BIN
  // tables give 622126–622925 to Discover (co-branded); like Stripe's test cards, all of 62 is UnionPay here.
  if (/^62/.test(number)) return 'unionpay';
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
      // Only when a CVC was given: without one there is nothing to check (Stripe: cvc_check null).
      ...(card.cvc !== undefined ? { cvc_check: known?.cvcCheck ?? 'pass' } : {}),
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
