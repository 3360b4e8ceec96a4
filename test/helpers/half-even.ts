/**
 * num / den rounded half to even, on BigInt: the property tests' own rounding, written apart from the
 * engine's (src/core/money) so their expected amounts are computed independently.
 */
export function halfEven(num: bigint, den: bigint): number {
  const neg = num < 0n;
  const n = neg ? -num : num;
  let q = n / den;
  const r = n % den;
  if (r * 2n > den || (r * 2n === den && q % 2n === 1n)) q += 1n;
  return Number(neg ? -q : q);
}
