import { describe, expect, it } from 'vitest';
import { loadPaymentsConfig } from './config.js';

describe('payment settings from the environment', () => {
  it('defaults: the simulated gateway, no webhooks secrets, the documented fraud thresholds', () => {
    const c = loadPaymentsConfig({});
    expect(c).toMatchObject({ stripe: null, paypal: null, gateways: ['simulated'], routingRules: [], successRateRouting: true, exploration: 0.05 });
    expect(c.fraud).toMatchObject({ paymentMethodFailuresPerHour: 5, blockHours: 24, countryMismatch: 'review' });
    expect(c.webhooks).toEqual({ stripeSecrets: [], paypalWebhookId: null, toleranceSeconds: 300, maxAttempts: 8, backoffBaseSeconds: 30 });
  });

  it('Stripe and PayPal from their variables; gateways in configured order; rules validated', () => {
    const c = loadPaymentsConfig({
      STRIPE_SECRET_KEY: 'sk_test_x',
      STRIPE_API_HOST: 'localhost',
      STRIPE_API_PORT: '12111',
      STRIPE_API_PROTOCOL: 'http',
      STRIPE_WEBHOOK_SECRETS: 'whsec_a, whsec_b',
      PAYPAL_CLIENT_ID: 'id',
      PAYPAL_CLIENT_SECRET: 'secret',
      PAYPAL_ENVIRONMENT: 'production',
      RECUR_ROUTING_RULES: '[{"name":"eur","currencies":["EUR"],"gateways":["paypal","stripe"]}]',
      RECUR_ROUTING_SUCCESS_RATE: 'off',
    });
    expect(c.stripe).toMatchObject({ secretKey: 'sk_test_x', host: 'localhost', port: 12111, protocol: 'http' });
    expect(c.paypal).toMatchObject({ clientId: 'id', environment: 'production' });
    expect(c.gateways).toEqual(['stripe', 'paypal']);
    expect(c.webhooks.stripeSecrets).toEqual(['whsec_a', 'whsec_b']);
    expect(c.routingRules).toEqual([{ name: 'eur', currencies: ['eur'], gateways: ['paypal', 'stripe'] }]);
    expect(c.successRateRouting).toBe(false);
  });

  it('refuses settings that cannot work', () => {
    expect(() => loadPaymentsConfig({ RECUR_GATEWAYS: 'stripe' })).toThrow(/STRIPE_SECRET_KEY is not set/);
    expect(() => loadPaymentsConfig({ RECUR_GATEWAYS: 'adyen' })).toThrow(/unknown gateway 'adyen'/);
    expect(() => loadPaymentsConfig({ RECUR_ROUTING_RULES: '{nope' })).toThrow(/JSON array/);
    expect(() => loadPaymentsConfig({ RECUR_ROUTING_RULES: '[{"name":"x","gateways":[]}]' })).toThrow(/RECUR_ROUTING_RULES is invalid: 0.gateways/);
    expect(() => loadPaymentsConfig({ STRIPE_SECRET_KEY: 'sk', STRIPE_API_PROTOCOL: 'ftp' })).toThrow(/http or https/);
    expect(() => loadPaymentsConfig({ RECUR_ROUTING_EXPLORATION: '2' })).toThrow(/from 0 to 1/);
  });
});
