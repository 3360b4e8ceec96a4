import { describe, expect, it } from 'vitest';
import { bloomHashes, bloomMayHold, bloomPositions, buildBloom } from './bloom.js';

describe('event batch key filter', () => {
  const members = Array.from({ length: 3000 }, (_, i) => (i % 3 === 0 ? `cus_${i.toString(36).padStart(14, '0')}` : `in_${i.toString(36).padStart(24, 'x')}`));
  const bloom = buildBloom(members);

  it('holds every key it was built from', () => {
    expect(members.filter((k) => !bloomMayHold(bloom, k))).toEqual([]);
  });

  it('is sized at ten bits or more per distinct key, a power of two', () => {
    // 3,000 keys need 30,000 bits: 4,096 bytes is the first power of two that holds them.
    expect(bloom.length).toBe(4096);
    expect(buildBloom([]).length).toBe(64);
    expect(buildBloom(['a', 'a', 'a']).length).toBe(64);
  });

  it('answers few false positives for keys it does not hold', () => {
    const others = Array.from({ length: 20_000 }, (_, i) => `cus_other${i}`);
    // Deterministic hashes: this exact count, 0.23 % (at 10.9 bits per key, under the 1 % the sizing allows).
    expect(others.filter((k) => bloomMayHold(bloom, k)).length).toBe(45);
  });

  it('probes the positions PostgreSQL recomputes from the two hashes', () => {
    const [h1, h2] = bloomHashes('cus_abc');
    expect(h2 % 2).toBe(1);
    expect(bloomPositions('cus_abc', 512)).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => (h1 + i * h2) % 512));
    // Known values (FNV-1a of "" is its offset basis), so a change of hash — which would make every
    // stored filter answer wrongly — fails here.
    expect(bloomHashes('')).toEqual([2166136261, 2538058381]);
    expect(bloomHashes('cus_abc')).toEqual([2054034953, 2642081631]);
  });
});
