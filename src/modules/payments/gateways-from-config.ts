import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../core/time/index.js';
import type { PaymentsConfig } from './config.js';
import { gatewaysOf, type Gateway, type Gateways } from './gateway.js';
import { PayPalGateway } from './paypal-gateway.js';
import { GatewayRouter } from './router.js';
import { SimulatedGateway, type SimulatedGatewayOptions } from './simulated-gateway.js';
import { StripeGateway } from './stripe-gateway.js';

/**
 * The gateways a process uses, from the configuration: the simulated gateway alone when neither
 * Stripe nor PayPal is configured (development, tests, demos); otherwise the router over the
 * configured gateways in RECUR_GATEWAYS order (the simulated gateway stays reachable by name for
 * payment methods saved with it before). `fingerprintSecret` is the installation's
 * (`readFingerprintSecret(db)`): the simulated gateway keys its card fingerprints with it.
 */
export function buildGateways(
  payments: PaymentsConfig,
  clock: Clock,
  fingerprintSecret: SimulatedGatewayOptions['fingerprintSecret'],
  logger?: Pick<FastifyBaseLogger, 'warn' | 'info'>,
): Gateways {
  const simulated = new SimulatedGateway({ fingerprintSecret, now: () => clock.now() });
  const real: Gateway[] = [];
  if (payments.stripe) real.push(new StripeGateway(payments.stripe));
  if (payments.paypal) real.push(new PayPalGateway(payments.paypal));
  if (real.length === 0 && payments.gateways.length === 1 && payments.gateways[0] === 'simulated') return gatewaysOf([simulated]);
  return new GatewayRouter({
    gateways: [...real, simulated],
    order: payments.gateways,
    rules: payments.routingRules,
    successRateRouting: payments.successRateRouting,
    exploration: payments.exploration,
    breaker: { failureThreshold: payments.breakerFailureThreshold, cooldownMs: payments.breakerCooldownMs },
    now: () => clock.now().getTime(),
    logger,
  });
}
