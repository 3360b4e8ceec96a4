// Typed application errors. Expected business conflicts are 4xx with a stable `code`; a 500 is a bug.
export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'idempotency_error'
  | 'rate_limit_error'
  | 'card_error'
  | 'api_error';

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly type: ErrorType,
    readonly code: string,
    message: string,
    readonly param?: string,
    readonly extra?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
  }

  toJSON() {
    return { error: { type: this.type, code: this.code, message: this.message, ...(this.param ? { param: this.param } : {}), ...this.extra } };
  }
}

export class InvalidRequestError extends AppError {
  constructor(message: string, param?: string, code = 'parameter_invalid') {
    super(400, 'invalid_request_error', code, message, param);
  }
}

export class NotFoundError extends AppError {
  constructor(resource: string, id: string, param = 'id') {
    super(404, 'invalid_request_error', 'resource_missing', `No such ${resource}: '${id}'`, param);
  }
}

/**
 * A request the object's state refuses (already paid, already canceled, already exists). 400 as on
 * Stripe, which keeps 409 for idempotency conflicts: its SDKs retry any 409 and raise it as a generic
 * StripeAPIError instead of a StripeInvalidRequestError.
 */
export class ConflictError extends AppError {
  constructor(message: string, code: string, param?: string) {
    super(400, 'invalid_request_error', code, message, param);
  }
}

export class AuthenticationError extends AppError {
  constructor(message = 'Invalid API key provided.') {
    super(401, 'authentication_error', 'api_key_invalid', message);
  }
}

export class PermissionError extends AppError {
  constructor(message: string) {
    super(403, 'permission_error', 'insufficient_scope', message);
  }
}

export class IdempotencyError extends AppError {
  constructor(message: string) {
    super(409, 'idempotency_error', 'idempotency_key_in_use', message);
  }
}
