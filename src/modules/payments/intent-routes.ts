import { z } from 'zod';
import { Respond, type Router } from '../../http/router.js';
import { cancelIntent, confirmIntent, updateIntent } from './intent-flow.js';
import { cancelPaymentIntentBody, confirmPaymentIntentBody, paymentIntentObject, updatePaymentIntentBody } from './schemas.js';
import { paymentErrorFor } from './service.js';

const idParams = z.object({ id: z.string().min(1) });

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
      const attempt = await confirmIntent(q, deps, params.id, { payment_method: body.payment_method, ip: body.off_session ? null : req.ip }, now);
      const error = paymentErrorFor(attempt);
      // A failed attempt is kept (committed) and answered with Stripe's error body.
      return error ? new Respond(error.status, error.toJSON()) : attempt.paymentIntent;
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
