import { describe, expect, it } from 'vitest';
import { redactUrl } from './log-redaction.js';

describe('redactUrl', () => {
  it.each([
    ['/v1/customers', '/v1/customers'],
    ['/v1/invoices?customer=cus_abc&limit=10&created[gte]=1767225600', '/v1/invoices?customer=cus_abc&limit=10&created[gte]=1767225600'],
    ['/v1/payment_methods?type=card&card[number]=4242424242424242&card[cvc]=123', '/v1/payment_methods?type=card&card[number]=[REDACTED]&card[cvc]=[REDACTED]'],
    ['/v1/payment_methods?card%5Bnumber%5D=4242424242424242&card%5Bcvc%5D=123', '/v1/payment_methods?card%5Bnumber%5D=[REDACTED]&card%5Bcvc%5D=[REDACTED]'],
    ['/v1/x?client_secret=pi_1_secret_2&password=hunter2&card[token]=tok_visa', '/v1/x?client_secret=[REDACTED]&password=[REDACTED]&card[token]=[REDACTED]'],
    ['/v1/customers?metadata[note]=4242+4242+4242+4242', '/v1/customers?metadata[note]=[REDACTED]'],
    ['/v1/customers?4242424242424242', '/v1/customers?[REDACTED]'],
    ['/v1/payment_methods/4242424242424242/attach', '/v1/payment_methods/[REDACTED]/attach'],
    ['/v1/customers?email=a%ZZ', '/v1/customers?email=a%ZZ'],
  ])('%s → %s', (url, logged) => {
    expect(redactUrl(url)).toBe(logged);
  });
});
