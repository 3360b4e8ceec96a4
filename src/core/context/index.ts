import { AsyncLocalStorage } from 'node:async_hooks';

// The API request a piece of work runs for, so the events it writes carry Stripe's `request`
// ({ id, idempotency_key }: "If null, the event was automatic") without threading it through every
// service. Set by the router around a request's transaction; absent in the worker. Work batched
// across requests (group commits) runs outside any request: its events are nobody's request.

export interface RequestInfo {
  id: string;
  idempotencyKey: string | null;
}

const storage = new AsyncLocalStorage<RequestInfo>();

export function runInRequest<T>(info: RequestInfo, fn: () => Promise<T>): Promise<T> {
  return storage.run(info, fn);
}

/** Runs `fn` outside the current request (a batch that serves several requests). */
export function outsideRequest<T>(fn: () => T): T {
  return storage.exit(fn);
}

export function currentRequest(): RequestInfo | null {
  return storage.getStore() ?? null;
}
