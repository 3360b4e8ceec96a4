import type { FailureClass } from '../gateway.js';

// The one table that turns every gateway's refusal into a class Recur acts on:
//   soft_decline  — may succeed later with the same method (dunning retries it)
//   hard_decline  — will not succeed with this method (ask the customer for another; do not retry)
//   fraud         — refused as fraud (do not retry; review)
//   gateway_fault — not the card: the gateway or the network failed (the router may fail over)
// and into Stripe's decline code vocabulary, so integrators and dunning read one set of codes whichever
// gateway answered. Sources: Stripe's "Decline codes" and "Error codes" pages; PayPal's Orders v2 error
// issues and card processor response codes (processor_response.response_code).

export type DeclineSource = 'stripe_decline_code' | 'stripe_error_code' | 'paypal_processor_code' | 'paypal_issue';

export interface DeclineRow {
  source: DeclineSource;
  code: string;
  class: FailureClass;
  /** The Stripe decline code reported for it (for Stripe rows: the code itself). */
  decline: string;
}

const S = 'soft_decline';
const H = 'hard_decline';
const F = 'fraud';
const G = 'gateway_fault';

type Row = [DeclineSource, string, FailureClass, string?];

// prettier-ignore
const ROWS: Row[] = [
  // ---- Stripe decline codes (error.decline_code) ----
  ['stripe_decline_code', 'approve_with_id', S], ['stripe_decline_code', 'authentication_required', S],
  ['stripe_decline_code', 'call_issuer', S], ['stripe_decline_code', 'card_not_supported', H],
  ['stripe_decline_code', 'card_velocity_exceeded', S], ['stripe_decline_code', 'currency_not_supported', H],
  ['stripe_decline_code', 'do_not_honor', S], ['stripe_decline_code', 'do_not_try_again', H],
  ['stripe_decline_code', 'duplicate_transaction', S], ['stripe_decline_code', 'expired_card', H],
  ['stripe_decline_code', 'fraudulent', F], ['stripe_decline_code', 'generic_decline', S],
  ['stripe_decline_code', 'incorrect_number', H], ['stripe_decline_code', 'incorrect_cvc', H],
  ['stripe_decline_code', 'incorrect_pin', H], ['stripe_decline_code', 'incorrect_zip', H],
  ['stripe_decline_code', 'insufficient_funds', S], ['stripe_decline_code', 'invalid_account', H],
  ['stripe_decline_code', 'invalid_amount', H], ['stripe_decline_code', 'invalid_cvc', H],
  ['stripe_decline_code', 'invalid_expiry_month', H], ['stripe_decline_code', 'invalid_expiry_year', H],
  ['stripe_decline_code', 'invalid_number', H], ['stripe_decline_code', 'invalid_pin', H],
  ['stripe_decline_code', 'issuer_not_available', S], ['stripe_decline_code', 'lost_card', H],
  ['stripe_decline_code', 'merchant_blacklist', F], ['stripe_decline_code', 'new_account_information_available', H],
  ['stripe_decline_code', 'no_action_taken', S], ['stripe_decline_code', 'not_permitted', H],
  ['stripe_decline_code', 'offline_pin_required', H], ['stripe_decline_code', 'online_or_offline_pin_required', H],
  ['stripe_decline_code', 'pickup_card', H], ['stripe_decline_code', 'pin_try_exceeded', H],
  ['stripe_decline_code', 'processing_error', S], ['stripe_decline_code', 'reenter_transaction', S],
  ['stripe_decline_code', 'restricted_card', H], ['stripe_decline_code', 'revocation_of_all_authorizations', H],
  ['stripe_decline_code', 'revocation_of_authorization', H], ['stripe_decline_code', 'security_violation', H],
  ['stripe_decline_code', 'service_not_allowed', H], ['stripe_decline_code', 'stolen_card', H],
  ['stripe_decline_code', 'stop_payment_order', H], ['stripe_decline_code', 'testmode_decline', H],
  ['stripe_decline_code', 'transaction_not_allowed', H], ['stripe_decline_code', 'try_again_later', S],
  ['stripe_decline_code', 'withdrawal_count_limit_exceeded', S],
  // ---- Stripe error codes that are not card_declined (error.code) ----
  ['stripe_error_code', 'expired_card', H], ['stripe_error_code', 'incorrect_cvc', H],
  ['stripe_error_code', 'incorrect_number', H], ['stripe_error_code', 'invalid_cvc', H],
  ['stripe_error_code', 'invalid_expiry_month', H], ['stripe_error_code', 'invalid_expiry_year', H],
  ['stripe_error_code', 'invalid_number', H], ['stripe_error_code', 'incorrect_zip', H],
  ['stripe_error_code', 'processing_error', S], ['stripe_error_code', 'authentication_required', S, 'authentication_required'],
  ['stripe_error_code', 'card_decline_rate_limit_exceeded', S, 'card_velocity_exceeded'],
  ['stripe_error_code', 'payment_intent_authentication_failure', S, 'authentication_required'],
  ['stripe_error_code', 'payment_method_unactivated', H, 'card_not_supported'],
  ['stripe_error_code', 'payment_method_not_available', G, 'issuer_not_available'],
  ['stripe_error_code', 'payment_method_provider_timeout', G, 'issuer_not_available'],
  ['stripe_error_code', 'resource_missing', H, 'invalid_account'],
  ['stripe_error_code', 'rate_limit', G, 'try_again_later'], ['stripe_error_code', 'lock_timeout', G, 'try_again_later'],
  ['stripe_error_code', 'api_key_expired', G, 'try_again_later'],
  // ---- PayPal card processor response codes (captures[].processor_response.response_code) ----
  ['paypal_processor_code', '00N7', H, 'incorrect_cvc'], ['paypal_processor_code', '0100', S, 'call_issuer'],
  ['paypal_processor_code', '0390', H, 'invalid_account'], ['paypal_processor_code', '0500', S, 'do_not_honor'],
  ['paypal_processor_code', '0580', H, 'transaction_not_allowed'], ['paypal_processor_code', '0800', G, 'reenter_transaction'],
  ['paypal_processor_code', '0880', S, 'processing_error'], ['paypal_processor_code', '0890', H, 'incorrect_pin'],
  ['paypal_processor_code', '0960', G, 'processing_error'], ['paypal_processor_code', '0R00', S, 'generic_decline'],
  ['paypal_processor_code', '1000', S, 'generic_decline'], ['paypal_processor_code', '10BR', S, 'do_not_honor'],
  ['paypal_processor_code', '1300', H, 'invalid_account'], ['paypal_processor_code', '1310', H, 'invalid_amount'],
  ['paypal_processor_code', '1312', H, 'card_not_supported'], ['paypal_processor_code', '1317', H, 'generic_decline'],
  ['paypal_processor_code', '1320', H, 'currency_not_supported'], ['paypal_processor_code', '1330', H, 'invalid_account'],
  ['paypal_processor_code', '1335', H, 'invalid_account'], ['paypal_processor_code', '1340', G, 'processing_error'],
  ['paypal_processor_code', '1350', G, 'processing_error'], ['paypal_processor_code', '1352', H, 'restricted_card'],
  ['paypal_processor_code', '1360', S, 'processing_error'], ['paypal_processor_code', '1370', G, 'processing_error'],
  ['paypal_processor_code', '1380', H, 'expired_card'], ['paypal_processor_code', '1382', H, 'incorrect_cvc'],
  ['paypal_processor_code', '1384', S, 'reenter_transaction'], ['paypal_processor_code', '1390', S, 'reenter_transaction'],
  ['paypal_processor_code', '1393', S, 'call_issuer'], ['paypal_processor_code', '5100', S, 'generic_decline'],
  ['paypal_processor_code', '5110', H, 'incorrect_cvc'], ['paypal_processor_code', '5120', S, 'insufficient_funds'],
  ['paypal_processor_code', '5130', H, 'incorrect_pin'], ['paypal_processor_code', '5135', H, 'pin_try_exceeded'],
  ['paypal_processor_code', '5140', H, 'invalid_account'], ['paypal_processor_code', '5150', H, 'pickup_card'],
  ['paypal_processor_code', '5160', H, 'transaction_not_allowed'], ['paypal_processor_code', '5170', H, 'incorrect_zip'],
  ['paypal_processor_code', '5180', H, 'restricted_card'], ['paypal_processor_code', '5190', S, 'incorrect_zip'],
  ['paypal_processor_code', '5200', S, 'duplicate_transaction'], ['paypal_processor_code', '5210', S, 'generic_decline'],
  ['paypal_processor_code', '5400', H, 'expired_card'], ['paypal_processor_code', '5500', H, 'incorrect_pin'],
  ['paypal_processor_code', '5650', S, 'authentication_required'], ['paypal_processor_code', '5700', H, 'transaction_not_allowed'],
  ['paypal_processor_code', '5710', S, 'card_velocity_exceeded'], ['paypal_processor_code', '5800', S, 'processing_error'],
  ['paypal_processor_code', '5900', S, 'call_issuer'], ['paypal_processor_code', '5910', H, 'issuer_not_available'],
  ['paypal_processor_code', '5920', S, 'issuer_not_available'], ['paypal_processor_code', '5930', H, 'card_not_supported'],
  ['paypal_processor_code', '5950', H, 'new_account_information_available'], ['paypal_processor_code', '6300', H, 'invalid_account'],
  ['paypal_processor_code', '7700', S, 'authentication_required'], ['paypal_processor_code', '7710', S, 'authentication_required'],
  ['paypal_processor_code', '7800', H, 'card_not_supported'], ['paypal_processor_code', '7900', H, 'incorrect_pin'],
  ['paypal_processor_code', '8000', G, 'processing_error'], ['paypal_processor_code', '8010', G, 'processing_error'],
  ['paypal_processor_code', '8020', G, 'processing_error'], ['paypal_processor_code', '8030', H, 'transaction_not_allowed'],
  ['paypal_processor_code', '8100', G, 'processing_error'], ['paypal_processor_code', '8110', G, 'processing_error'],
  ['paypal_processor_code', '8220', G, 'issuer_not_available'], ['paypal_processor_code', '9100', S, 'try_again_later'],
  ['paypal_processor_code', '9500', F, 'fraudulent'], ['paypal_processor_code', '9510', F, 'security_violation'],
  ['paypal_processor_code', '9520', H, 'lost_card'], ['paypal_processor_code', '9530', S, 'call_issuer'],
  ['paypal_processor_code', '9540', H, 'card_not_supported'], ['paypal_processor_code', '9600', S, 'generic_decline'],
  ['paypal_processor_code', 'PCNR', S, 'authentication_required'], ['paypal_processor_code', 'PCVV', H, 'incorrect_cvc'],
  ['paypal_processor_code', 'PP06', H, 'invalid_account'], ['paypal_processor_code', 'PPRN', H, 'do_not_try_again'],
  ['paypal_processor_code', 'PPAD', H, 'incorrect_zip'], ['paypal_processor_code', 'PPAB', H, 'restricted_card'],
  ['paypal_processor_code', 'PPCT', H, 'card_not_supported'], ['paypal_processor_code', 'PPDT', S, 'card_velocity_exceeded'],
  ['paypal_processor_code', 'PPEF', H, 'expired_card'], ['paypal_processor_code', 'PPEL', S, 'card_velocity_exceeded'],
  ['paypal_processor_code', 'PPER', G, 'processing_error'], ['paypal_processor_code', 'PPEX', H, 'expired_card'],
  ['paypal_processor_code', 'PPFI', H, 'invalid_account'], ['paypal_processor_code', 'PPFR', H, 'restricted_card'],
  ['paypal_processor_code', 'PPMC', H, 'card_not_supported'], ['paypal_processor_code', 'PPNL', S, 'card_velocity_exceeded'],
  ['paypal_processor_code', 'PPNT', G, 'processing_error'], ['paypal_processor_code', 'PPSC', F, 'fraudulent'],
  ['paypal_processor_code', 'PPSE', H, 'card_not_supported'], ['paypal_processor_code', 'PPUC', H, 'currency_not_supported'],
  // ---- PayPal Orders v2 / Payments v2 error issues (details[].issue) ----
  ['paypal_issue', 'INSTRUMENT_DECLINED', S, 'generic_decline'], ['paypal_issue', 'TRANSACTION_REFUSED', S, 'do_not_honor'],
  ['paypal_issue', 'PAYER_ACTION_REQUIRED', S, 'authentication_required'], ['paypal_issue', 'MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED', S, 'card_velocity_exceeded'],
  ['paypal_issue', 'CARD_EXPIRED', H, 'expired_card'], ['paypal_issue', 'CARD_CLOSED', H, 'invalid_account'],
  ['paypal_issue', 'INVALID_SECURITY_CODE_LENGTH', H, 'invalid_cvc'], ['paypal_issue', 'CARD_TYPE_NOT_SUPPORTED', H, 'card_not_supported'],
  ['paypal_issue', 'PAYER_CANNOT_PAY', H, 'do_not_try_again'], ['paypal_issue', 'PAYER_ACCOUNT_RESTRICTED', H, 'restricted_card'],
  ['paypal_issue', 'PAYER_ACCOUNT_LOCKED_OR_CLOSED', H, 'invalid_account'], ['paypal_issue', 'INVALID_RESOURCE_ID', H, 'invalid_account'],
  ['paypal_issue', 'RESOURCE_NOT_FOUND', H, 'invalid_account'], ['paypal_issue', 'PAYMENT_SOURCE_CANNOT_BE_USED', H, 'card_not_supported'],
  ['paypal_issue', 'PAYMENT_SOURCE_DECLINED_BY_PROCESSOR', S, 'generic_decline'], ['paypal_issue', 'PAYMENT_SOURCE_INFO_CANNOT_BE_VERIFIED', H, 'incorrect_number'],
  ['paypal_issue', 'CURRENCY_NOT_SUPPORTED_FOR_CARD_TYPE', H, 'currency_not_supported'], ['paypal_issue', 'REDIRECT_PAYER_FOR_ALTERNATE_FUNDING', S, 'generic_decline'],
  ['paypal_issue', 'DECLINED_DUE_TO_RELATED_TXN', S, 'generic_decline'], ['paypal_issue', 'DUPLICATE_INVOICE_ID', H, 'duplicate_transaction'],
  ['paypal_issue', 'COMPLIANCE_VIOLATION', F, 'merchant_blacklist'], ['paypal_issue', 'TRANSACTION_BLOCKED_BY_PAYEE', F, 'merchant_blacklist'],
  ['paypal_issue', 'PAYEE_BLOCKED_TRANSACTION', F, 'merchant_blacklist'], ['paypal_issue', 'INTERNAL_SERVER_ERROR', G, 'processing_error'],
  ['paypal_issue', 'INTERNAL_SERVICE_ERROR', G, 'processing_error'], ['paypal_issue', 'SERVICE_UNAVAILABLE', G, 'issuer_not_available'],
  ['paypal_issue', 'RATE_LIMIT_REACHED', G, 'try_again_later'], ['paypal_issue', 'PERMISSION_DENIED', G, 'processing_error'],
  ['paypal_issue', 'NOT_AUTHORIZED', G, 'processing_error'], ['paypal_issue', 'PAYEE_ACCOUNT_RESTRICTED', G, 'processing_error'],
];

export const DECLINE_TABLE: readonly DeclineRow[] = ROWS.map(([source, code, cls, decline]) => ({ source, code, class: cls, decline: decline ?? code }));

const index = new Map(DECLINE_TABLE.map((r) => [`${r.source}:${r.code}`, r]));

export function lookupDecline(source: DeclineSource, code: string): DeclineRow | undefined {
  return index.get(`${source}:${code}`);
}

export interface Classified {
  failureClass: FailureClass;
  /** Stripe's error code: card_declined, expired_card, … */
  code: string;
  /** Stripe's decline code. */
  declineCode: string;
}

/**
 * A Stripe card error: `code` (card_declined, expired_card, …) and, for card_declined, its
 * `decline_code`. An unknown decline code is a soft decline (Stripe: generic_decline), never a fault.
 */
export function classifyStripe(code: string | undefined, declineCode: string | undefined): Classified {
  const c = code ?? 'card_declined';
  if (declineCode) {
    const row = lookupDecline('stripe_decline_code', declineCode);
    return { failureClass: row?.class ?? 'soft_decline', code: c, declineCode };
  }
  const row = lookupDecline('stripe_error_code', c) ?? lookupDecline('stripe_decline_code', c);
  return { failureClass: row?.class ?? 'soft_decline', code: c, declineCode: row?.decline ?? 'generic_decline' };
}

/** A PayPal card decline by processor response code (e.g. 5120 → insufficient_funds, soft). */
export function classifyPayPalProcessor(responseCode: string | undefined): Classified {
  const row = responseCode ? lookupDecline('paypal_processor_code', responseCode.toUpperCase()) : undefined;
  const failureClass = row?.class ?? 'soft_decline';
  return { failureClass, code: failureClass === 'gateway_fault' ? 'processing_error' : 'card_declined', declineCode: row?.decline ?? 'generic_decline' };
}

/** A PayPal API error issue (e.g. INSTRUMENT_DECLINED, CARD_EXPIRED) — or undefined when the issue is not a decline we know. */
export function classifyPayPalIssue(issue: string | undefined): Classified | undefined {
  const row = issue ? lookupDecline('paypal_issue', issue.toUpperCase()) : undefined;
  if (!row) return undefined;
  return { failureClass: row.class, code: row.class === 'gateway_fault' ? 'processing_error' : 'card_declined', declineCode: row.decline };
}
