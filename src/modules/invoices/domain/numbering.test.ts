import { describe, expect, it } from 'vitest';
import { formatInvoiceNumber } from './numbering.js';

describe('formatInvoiceNumber', () => {
  it('pads to four digits and grows past them', () => {
    expect(formatInvoiceNumber('RECUR', 1)).toBe('RECUR-0001');
    expect(formatInvoiceNumber('A1B2C3', 42)).toBe('A1B2C3-0042');
    expect(formatInvoiceNumber('RECUR', 12345)).toBe('RECUR-12345');
  });

  it('rejects bad prefixes and sequences', () => {
    for (const p of ['re', 'recur', 'RE-CUR', 'ABCDEFGHIJKLM']) expect(() => formatInvoiceNumber(p, 1)).toThrow(RangeError);
    for (const n of [0, -1, 1.5]) expect(() => formatInvoiceNumber('RECUR', n)).toThrow(RangeError);
  });
});
