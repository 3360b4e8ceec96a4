import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { base62, encodeTail, idReplayScope, incrementTail, newId } from './index.js';

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

describe('idReplayScope', () => {
  it('gives a rerun the ids of the first run, in order, while it asks for the same kinds', async () => {
    const sameIds = idReplayScope();
    const make = async () => [newId('in'), newId('pi'), newId('evt')];
    const first = await sameIds(make);
    expect(await sameIds(make)).toEqual(first);
    expect(new Set(first).size).toBe(3);
  });

  it('makes new ids from where a rerun takes another path, and none outside a scope', async () => {
    const sameIds = idReplayScope();
    const first = await sameIds(async () => [newId('in'), newId('pi'), newId('evt')]);
    const second = await sameIds(async () => [newId('in'), newId('re'), newId('evt')]);
    expect(second[0]).toBe(first[0]);
    expect(second[1]).toMatch(/^re_/);
    // After the paths parted, the old run's later ids are not handed out.
    expect(second[2]).not.toBe(first[2]);
    expect(newId('in')).not.toBe(first[0]);
  });

  it('keeps concurrent scopes apart', async () => {
    const a = idReplayScope();
    const b = idReplayScope();
    const tick = () => new Promise((r) => setTimeout(r, 1));
    const run = async () => {
      const x = newId('in');
      await tick();
      return [x, newId('in')];
    };
    const [a1, b1] = await Promise.all([a(run), b(run)]);
    const [a2, b2] = await Promise.all([a(run), b(run)]);
    expect(a2).toEqual(a1);
    expect(b2).toEqual(b1);
    expect(new Set([...a1!, ...b1!]).size).toBe(4);
  });
});

describe('the id tail', () => {
  const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  // The reference: the 13 digits of hi * 62^7 + lo, computed with BigInt.
  const reference = (hi: number, lo: number) => {
    let v = BigInt(hi) * 62n ** 7n + BigInt(lo);
    let out = '';
    for (let i = 0; i < 13; i++) {
      out = ALPHABET[Number(v % 62n)]! + out;
      v /= 62n;
    }
    return out;
  };

  it('encodes as the 13 base-62 digits of one number', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 62 ** 6 - 1 }), fc.integer({ min: 0, max: 62 ** 7 - 1 }), (hi, lo) => {
        expect(encodeTail({ hi, lo })).toBe(reference(hi, lo));
      }),
    );
    expect(base62(1_800_000_000_000, 9)).toBe('00VgmOYqW');
    expect(encodeTail({ hi: 0, lo: 61 })).toBe('000000000000z');
  });

  it('increments by one, carrying into the top digits and wrapping at 62^13', () => {
    expect(incrementTail({ hi: 5, lo: 7 })).toEqual({ hi: 5, lo: 8 });
    expect(incrementTail({ hi: 5, lo: 62 ** 7 - 1 })).toEqual({ hi: 6, lo: 0 });
    expect(encodeTail({ hi: 5, lo: 62 ** 7 - 1 })).toBe('000005zzzzzzz');
    expect(encodeTail(incrementTail({ hi: 5, lo: 62 ** 7 - 1 }))).toBe('0000060000000');
    expect(incrementTail({ hi: 62 ** 6 - 1, lo: 62 ** 7 - 1 })).toEqual({ hi: 0, lo: 0 });
  });
});
