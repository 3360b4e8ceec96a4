// A Bloom filter of the keys (customer ids, object ids) of one event batch, so a search by customer or
// object reads only the batches that may hold it instead of inflating every batch in its window.
// Node builds the bits and hashes a searched key; SQL (recur_bloom_has, migration 0050) tests the bits,
// so the filters stay in the database. Double hashing (Kirsch–Mitzenmacher): bit i of a key is
// (h1 + i·h2) mod m, with m the filter's size in bits (a power of two) and h1, h2 two 32-bit FNV-1a hashes.

/** Bits tested per key: with ≥ 10 bits per key, about 1 % false positives. */
export const BLOOM_PROBES = 7;
const BITS_PER_KEY = 10;
const MIN_BYTES = 64;

function fnv1a(s: string, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The two hashes of a key; h2 is odd so that the probes of a power-of-two filter are all distinct. */
export function bloomHashes(key: string): [number, number] {
  return [fnv1a(key, 0x811c9dc5), (fnv1a(key, 0x9747b28c) | 1) >>> 0];
}

/** The bit positions a key sets in a filter of `bits` bits (h1 + i·h2 < 2^35: exact in a double). */
export function bloomPositions(key: string, bits: number): number[] {
  const [h1, h2] = bloomHashes(key);
  return Array.from({ length: BLOOM_PROBES }, (_, i) => (h1 + i * h2) % bits);
}

/** A filter holding `keys`: bit n is bit (n mod 8) of byte n div 8, as PostgreSQL's get_bit numbers them. */
export function buildBloom(keys: Iterable<string>): Uint8Array {
  const distinct = new Set(keys);
  let bytes = MIN_BYTES;
  while (bytes * 8 < distinct.size * BITS_PER_KEY) bytes *= 2;
  const out = new Uint8Array(bytes);
  const bits = bytes * 8;
  // bloomPositions without its array: a worker writes a filter of thousands of keys per batch.
  for (const key of distinct) {
    const [h1, h2] = bloomHashes(key);
    for (let i = 0; i < BLOOM_PROBES; i++) {
      const p = (h1 + i * h2) % bits;
      out[p >> 3]! |= 1 << (p & 7);
    }
  }
  return out;
}

/** Whether a filter may hold `key` (false: certainly not). */
export function bloomMayHold(bloom: Uint8Array, key: string): boolean {
  return bloomPositions(key, bloom.length * 8).every((p) => (bloom[p >> 3]! & (1 << (p & 7))) !== 0);
}
