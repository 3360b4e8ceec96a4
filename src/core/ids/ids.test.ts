import { describe, expect, it } from 'vitest';
import { newId } from './index.js';

describe('ids', () => {
  it('are prefixed, fixed-length and strictly increasing in bytewise order, even within one millisecond', () => {
    const ids = Array.from({ length: 2000 }, () => newId('cus', 1_800_000_000_000));
    for (const id of ids) expect(id).toMatch(/^cus_[0-9A-Za-z]{22}$/);
    const sorted = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    expect(sorted).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('later milliseconds sort after earlier ones', () => {
    const a = newId('in', 1_900_000_000_000);
    const b = newId('in', 1_900_000_000_001);
    expect(a < b).toBe(true);
  });
});
