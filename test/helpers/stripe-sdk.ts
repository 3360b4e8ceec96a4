import Stripe from 'stripe';
import type { TestApp } from './app.js';

/**
 * The official Stripe SDK pointed at a test app by host, port and protocol only, as an integration
 * would point it at Recur (ADR 0002): the app listens on a free port first, so the SDK's own HTTP
 * client and encoding are what is tested, not app.inject.
 */
export async function stripeClient(t: TestApp): Promise<Stripe> {
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const address = t.app.server.address();
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
  return new Stripe(t.key, { host: '127.0.0.1', port: address.port, protocol: 'http', maxNetworkRetries: 0 });
}
