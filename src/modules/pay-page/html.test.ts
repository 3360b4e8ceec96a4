import { describe, expect, it } from 'vitest';
import { payPage, type PayPageModel } from './html.js';

const base: PayPageModel = {
  title: 'Update your payment method',
  amount: '$97.00',
  invoiceNumber: 'RECUR-0007',
  planName: 'Community Access',
  cardOnFile: 'visa •••• 0341',
  needsNewCard: true,
  action: '/pay/tok',
  offers: [],
  notice: null,
  stripePublishableKey: null,
  showForm: true,
};

describe('payment-update page', () => {
  it('posts card fields to Recur (simulated gateway) when Stripe is not configured', () => {
    const html = payPage(base);
    expect(html).not.toContain('js.stripe.com');
    expect(html).toContain('name="number"');
    expect(html).toContain('$97.00');
    expect(html).toContain('RECUR-0007');
  });

  it('mounts Stripe Elements with the publishable key when Stripe is configured, and never asks for the raw number', () => {
    const html = payPage({ ...base, stripePublishableKey: 'pk_test_recur' });
    expect(html).toContain('<script src="https://js.stripe.com/v3/"></script>');
    expect(html).toContain('Stripe("pk_test_recur")');
    expect(html).toContain("stripe.elements().create('card')");
    expect(html).toContain('name="stripe_payment_method"');
    expect(html).not.toContain('name="number"');
  });
});
