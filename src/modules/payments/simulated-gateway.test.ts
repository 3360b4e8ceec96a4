import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/time/index.js';
import { CardError, SimulatedGateway, TEST_CARDS, TEST_PAYMENT_METHODS, cardBrand, luhnValid } from './simulated-gateway.js';

const clock = new ManualClock('2026-01-15T12:00:00Z');
const gw = () => new SimulatedGateway({ now: () => clock.now(), fingerprintSecret: 'test-secret' });

describe('luhnValid', () => {
  it('accepts every Stripe test card and rejects a one-digit change', () => {
    for (const number of Object.keys(TEST_CARDS)) {
      expect(luhnValid(number), number).toBe(true);
      const last = Number(number.at(-1));
      expect(luhnValid(number.slice(0, -1) + String((last + 1) % 10)), number).toBe(false);
    }
  });

  it('rejects numbers shorter than 12 digits even when the checksum holds', () => {
    expect(luhnValid('0')).toBe(false);
    expect(luhnValid('42424242426')).toBe(false);
    expect(luhnValid('4111111111111111')).toBe(true);
  });
});

describe('cardBrand', () => {
  it.each([
    ['4242424242424242', 'visa'],
    ['5555555555554444', 'mastercard'],
    ['2223003122003222', 'mastercard'],
    ['378282246310005', 'amex'],
    ['6011111111111117', 'discover'],
    ['3566002020360505', 'jcb'],
    ['36227206271667', 'diners'],
    ['6200000000000005', 'unionpay'],
    ['6205500000000000004', 'unionpay'],
    ['9999999999999995', 'unknown'],
  ])('%s → %s', (number, brand) => {
    expect(cardBrand(number)).toBe(brand);
  });
});

describe("Stripe's test PaymentMethod ids", () => {
  it.each([
    ['pm_card_diners', 'diners', 'credit', 'US'],
    ['pm_card_jcb', 'jcb', 'credit', 'US'],
    ['pm_card_discover_debit', 'discover', 'debit', 'US'],
    ['pm_card_unionpay_debit', 'unionpay', 'debit', 'US'],
    ['pm_card_us', 'visa', 'credit', 'US'],
  ])('%s is a %s %s card from %s that charges', async (pm, brand, funding, country) => {
    const g = gw();
    const card = await g.tokenizeCard({ number: TEST_PAYMENT_METHODS[pm]!, exp_month: 12, exp_year: 2030 });
    expect([card.brand, card.funding, card.country]).toEqual([brand, funding, country]);
    expect((await g.charge({ amount: 1_000, currency: 'usd', token: card.token, idempotencyKey: `k-${pm}` })).status).toBe('succeeded');
  });
});

describe('SimulatedGateway.tokenizeCard', () => {
  it('returns brand, last4, expiry, country, fingerprint and a token that holds no digit of the card', async () => {
    const tok = await gw().tokenizeCard({ number: '4000 0082 6000 0000', exp_month: 3, exp_year: 30, cvc: '123' });
    expect(tok).toMatchObject({ brand: 'visa', last4: '0000', exp_month: 3, exp_year: 2030, country: 'GB', funding: 'credit' });
    expect(tok.token).toMatch(/^simtok_succeed_[a-p]{16}$/);
    expect(tok.token).not.toMatch(/\d/);
    expect(tok.fingerprint).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(JSON.stringify(tok)).not.toContain('4000008260000000');
  });

  it('gives the same card the same fingerprint (and a different token); another card another fingerprint', async () => {
    const g = gw();
    const a = await g.tokenizeCard({ number: '4242424242424242', exp_month: 1, exp_year: 2027 });
    const b = await g.tokenizeCard({ number: '4242-4242-4242-4242', exp_month: 6, exp_year: 2031, cvc: '999' });
    const c = await g.tokenizeCard({ number: '5555555555554444', exp_month: 1, exp_year: 2027 });
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(a.token).not.toBe(b.token);
    expect(c.fingerprint).not.toBe(a.fingerprint);
    const otherInstall = await new SimulatedGateway({ now: () => clock.now(), fingerprintSecret: 'other' }).tokenizeCard({
      number: '4242424242424242',
      exp_month: 1,
      exp_year: 2027,
    });
    expect(otherInstall.fingerprint).not.toBe(a.fingerprint);
  });

  it.each([
    [{ number: '4242424242424241', exp_month: 1, exp_year: 2027 }, 'incorrect_number', 'card[number]'],
    [{ number: '4242', exp_month: 1, exp_year: 2027 }, 'incorrect_number', 'card[number]'],
    [{ number: '4242424242424242', exp_month: 13, exp_year: 2027 }, 'invalid_expiry_month', 'card[exp_month]'],
    [{ number: '4242424242424242', exp_month: 12, exp_year: 2025 }, 'invalid_expiry_year', 'card[exp_year]'],
    // January 2026 is the current month (the clock is 2026-01-15): still valid; December 2025 is not.
    [{ number: '4242424242424242', exp_month: 1, exp_year: 2026, cvc: '12' }, 'invalid_cvc', 'card[cvc]'],
  ])('rejects %j with 402 %s on %s', async (card, code, param) => {
    const err = await gw()
      .tokenizeCard(card)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CardError);
    expect((err as CardError).status).toBe(402);
    expect((err as CardError).toJSON()).toEqual({ error: { type: 'card_error', code, message: expect.any(String), param } });
    expect((err as CardError).message).not.toContain('4242424242424242');
  });
});

describe('SimulatedGateway.charge', () => {
  it('charges by the behaviour the token carries; the same idempotency key answers the same outcome', async () => {
    const g = gw();
    const ok = await g.tokenizeCard({ number: TEST_PAYMENT_METHODS.pm_card_visa!, exp_month: 1, exp_year: 2027 });
    const first = await g.charge({ amount: 1000, currency: 'usd', token: ok.token, idempotencyKey: 'k1' });
    expect(first).toMatchObject({ status: 'succeeded', gatewayRef: expect.stringMatching(/^ch_sim_[0-9a-f]{20}$/) });
    expect(await g.charge({ amount: 1000, currency: 'usd', token: ok.token, idempotencyKey: 'k1' })).toEqual(first);
    expect(await g.retrieveCharge('k1')).toEqual(first);
    expect(await g.retrieveCharge('nope')).toBeNull();

    const funds = await g.tokenizeCard({ number: '4000000000009995', exp_month: 1, exp_year: 2027 });
    expect(await g.charge({ amount: 1000, currency: 'usd', token: funds.token, idempotencyKey: 'k2' })).toMatchObject({
      status: 'failed',
      failureClass: 'soft_decline',
      code: 'card_declined',
      declineCode: 'insufficient_funds',
    });
    expect(await g.charge({ amount: 1000, currency: 'usd', token: 'tok_foreign', idempotencyKey: 'k3' })).toMatchObject({
      status: 'failed',
      failureClass: 'hard_decline',
      code: 'payment_method_invalid',
    });
  });
});
