import { z } from 'zod';
import { Respond, type Router } from '../../http/router.js';
import { cancelIntent, confirmIntent, updateIntent } from './intent-flow.js';
import { cancelPaymentIntentBody, confirmPaymentIntentBody, paymentIntentObject, updatePaymentIntentBody, type PaymentIntentObject } from './schemas.js';
import { paymentErrorFor, type PaymentAttempt } from './service.js';

const idParams = z.object({ id: z.string().min(1) });

/** A charge attempt's answer: the payment intent, or Stripe's error body (the failed attempt is kept: committed). */
export function attemptAnswer(attempt: PaymentAttempt): PaymentIntentObject | Respond {
  const error = paymentErrorFor(attempt);
  return error ? new Respond(error.status, error.toJSON()) : attempt.paymentIntent;
}

/** Update, confirm and cancel of a payment intent created without confirm (intent-flow.ts). */
export function paymentIntentFlowRoutes(r: Router): void {
  r.route({
    method: 'POST',
    url: '/v1/payment_intents/{id}',
    summary: 'Update a payment intent that waits for confirmation (amount, currency, payment method, description, metadata)',
    tag: 'Payment intents',
    scope: 'write',
    params: idParams,
    body: updatePaymentIntentBody,
    response: paymentIntentObject,
    handler: ({ q, deps, now, params, body }) => updateIntent(q, deps, params.id, body, now),
  });
  r.route({
    method: 'POST',
    url: '/v1/payment_intents/{id}/confirm',
    summary: 'Confirm a payment intent: the charge (fraud rules, routing); a failure answers 402 and it can be confirmed again',
    tag: 'Payment intents',
    scope: 'write',
    params: idParams,
    body: confirmPaymentIntentBody,
    response: paymentIntentObject,
    handler: async ({ q, deps, now, params, body, req }) => {
      // An off-session payment has no customer present: no client IP to rate.
      return attemptAnswer(await confirmIntent(q, deps, params.id, { payment_method: body.payment_method, ip: body.off_session ? null : req.ip }, now));
    },
  });
  r.route({
    method: 'POST',
    url: '/v1/payment_intents/{id}/cancel',
    summary: 'Cancel a payment intent that waits for its payment method or confirmation',
    tag: 'Payment intents',
    scope: 'write',
    params: idParams,
    body: cancelPaymentIntentBody,
    response: paymentIntentObject,
    handler: ({ q, now, params, body }) => cancelIntent(q, params.id, body.cancellation_reason, now),
  });
}
