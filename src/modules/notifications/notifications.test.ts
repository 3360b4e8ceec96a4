import { describe, expect, it } from 'vitest';
import { signToken, verifyToken } from './links.js';
import { checkRewrite } from './personalize.js';
import { SEED_TEMPLATES } from './seed.js';
import { render } from './templates.js';

const tpl = (key: string) => {
  const t = SEED_TEMPLATES.find((x) => x.key === key)!;
  return { channel: t.channel, subject: t.subject ?? null, html: t.html ?? null, text: t.text, required_lines: t.required_lines ?? [], essential: t.essential };
};

describe('templates', () => {
  it('renders text verbatim and escapes HTML', () => {
    const r = render(tpl('payment_failed'), { customer_name: 'Ada <script>', amount: '$97.00', plan_name: 'Community Access', last4: '4242', payment_update_link: 'https://x.example/pay/t' });
    expect(r.subject).toBe('Your payment of $97.00 did not go through');
    expect(r.text).toContain('Hi Ada <script>,');
    expect(r.html).toContain('Hi Ada &lt;script&gt;,');
    expect(r.required).toEqual(['https://x.example/pay/t', '$97.00']);
  });

  it('adds the unsubscribe link to non-essential messages only', () => {
    const vars = { last4: '4242', expiry: '02/2026', days_left: 30, plan_name: 'P', payment_update_link: 'https://x.example/pay/t', unsubscribe_link: 'https://x.example/u/1' };
    expect(render(tpl('card_expiring'), vars).text).toContain('Unsubscribe from these notices: https://x.example/u/1');
    expect(render(tpl('card_expiring'), vars).html).toContain('href="https://x.example/u/1"');
    expect(render(tpl('payment_receipt'), { ...vars, amount: '$1.00' }).text).not.toContain('Unsubscribe');
  });
});

describe('personalisation guardrails', () => {
  const original = 'Hi Ada,\n\nWe could not collect $97.00.\n\nUpdate your payment details: https://x.example/pay/t';
  const required = ['https://x.example/pay/t', '$97.00'];
  it('accepts a rewrite that keeps the required strings and adds no link', () => {
    expect(checkRewrite(original, 'Ada, your $97.00 payment failed. Fix it here: https://x.example/pay/t', required)).toBeNull();
  });
  it('refuses a rewrite that drops the link or the amount, adds a link, or runs long', () => {
    expect(checkRewrite(original, 'Ada, your payment failed: https://x.example/pay/t', required)).toMatch(/missing required text: \$97\.00/);
    expect(checkRewrite(original, 'Ada, $97.00 is due https://x.example/pay/t or https://evil.example/x', required)).toMatch(/introduced a link/);
    expect(checkRewrite(original, '$97.00 https://x.example/pay/t ' + 'x'.repeat(1000), required)).toBe('rewrite too long');
    expect(checkRewrite(original, '   ', required)).toBe('empty rewrite');
  });
});

describe('signed links', () => {
  it('verifies its own tokens and rejects tampered ones', () => {
    const token = signToken('s3cret', { c: 'cus_1', i: 'in_1', e: 2_000_000_000 });
    expect(verifyToken('s3cret', token)).toEqual({ ok: true, payload: { c: 'cus_1', i: 'in_1', e: 2_000_000_000 } });
    const [body, sig] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ c: 'cus_2', i: 'in_1', e: 2_000_000_000 })).toString('base64url');
    expect(verifyToken('s3cret', `${forged}.${sig}`)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyToken('other', token)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyToken('s3cret', `${body}`)).toEqual({ ok: false, reason: 'malformed' });
  });
});
