import { randomBytes } from 'node:crypto';

// Sortable prefixed ids (`cus_…`): 9 base62 chars of milliseconds, then 13 of randomness.
// Within one process ids are strictly increasing (the random tail is incremented inside a
// millisecond, like ULID's monotonic mode), so `ORDER BY id` is creation order for pagination.
// Columns holding ids use COLLATE "C" so PostgreSQL compares them bytewise.
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const TIME_LEN = 9;
const RAND_LEN = 13;

export type IdPrefix =
  | 'cus' | 'prod' | 'price' | 'sub' | 'si' | 'in' | 'il' | 'ii' | 'pi' | 'pm' | 'evt' | 'key' | 'coupon'
  | 'promo' | 'clock' | 'txr' | 'cn' | 'cbtxn' | 're' | 'dp' | 'whin' | 'req' | 'sched' | 'ctx' | 'ue' | 'dcamp' | 'task' | 'msg';

function encode(value: bigint, len: number): string {
  let out = '';
  for (let i = 0; i < len; i++) {
    out = ALPHABET[Number(value % 62n)]! + out;
    value /= 62n;
  }
  return out;
}

let lastMs = -1;
let lastRand = 0n;
const RAND_MAX = 62n ** BigInt(RAND_LEN);

export function newId(prefix: IdPrefix | string, nowMs: number = Date.now()): string {
  // Ids order rows for pagination, so they follow real elapsed time even when a manual clock is frozen.
  const ms = Math.max(nowMs, lastMs);
  if (ms === lastMs) {
    lastRand = (lastRand + 1n) % RAND_MAX;
  } else {
    lastMs = ms;
    lastRand = BigInt('0x' + randomBytes(10).toString('hex')) % (RAND_MAX / 2n);
  }
  return `${prefix}_${encode(BigInt(ms), TIME_LEN)}${encode(lastRand, RAND_LEN)}`;
}

export function hasPrefix(id: string, prefix: string): boolean {
  return id.startsWith(prefix + '_');
}
