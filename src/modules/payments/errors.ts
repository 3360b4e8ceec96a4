import { AppError, InvalidRequestError } from '../../core/errors/index.js';

// Stripe's wording for payment-method errors, so integrators recognise them.

/** A payment method named in a parameter (not the URL) that does not exist: 400, as Stripe answers. */
export function noSuchPaymentMethod(id: string, param: string): AppError {
  return new AppError(400, 'invalid_request_error', 'resource_missing', `No such PaymentMethod: '${id}'`, param);
}

export function notAttachedToCustomer(id: string, param: string): AppError {
  return new AppError(
    400,
    'invalid_request_error',
    'resource_missing',
    `The customer does not have a payment method with the ID ${id}. The payment method must be attached to the customer.`,
    param,
  );
}

export function paymentMethodState(message: string, param?: string): InvalidRequestError {
  return new InvalidRequestError(message, param, 'payment_method_unexpected_state');
}

export const DETACHED_MESSAGE =
  'This PaymentMethod was previously used without being attached to a Customer or was detached from a Customer, and may not be used again.';
