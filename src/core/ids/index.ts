import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';

// Sortable prefixed ids (`cus_…`): 9 base62 chars of milliseconds, then 13 of randomness.
// Within one process ids are strictly increasing (the random tail is incremented inside a
// millisecond, like ULID's monotonic mode), so `ORDER BY id` is creation order for pagination.
// Columns holding ids use COLLATE "C" so PostgreSQL compares them bytewise.
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const TIME_LEN = 9;

export type IdPrefix =
  | 'cus' | 'prod' | 'price' | 'sub' | 'si' | 'in' | 'il' | 'ii' | 'pi' | 'pm' | 'evt' | 'key' | 'coupon'
  | 'promo' | 'clock' | 'txr' | 'txi' | 'cn' | 'cbtxn' | 're' | 'dp' | 'whin' | 'req' | 'sched' | 'sub_sched' | 'ctx' | 'ue' | 'dcamp' | 'task'
  | 'msg' | 'seti';

/** `value` (a non-negative safe integer) as `len` base-62 digits. */
export function base62(value: number, len: number): string {
  let out = '';
  for (let i = 0; i < len; i++) {
    out = ALPHABET[value % 62]! + out;
    value = Math.floor(value / 62);
  }
  return out;
}

// The random tail (13 base-62 digits, up to 62^13 > 2^53) is kept as two safe integers, its top 6 and
// bottom 7 digits: BigInt arithmetic here was ~5 % of a renewal batch's CPU (ten ids per renewal).
const LO_MAX = 62 ** 7;
const HI_MAX = 62 ** 6;
export interface Tail {
  hi: number;
  lo: number;
}

/** The next tail, modulo 62^13. */
export function incrementTail(t: Tail): Tail {
  if (t.lo + 1 < LO_MAX) return { hi: t.hi, lo: t.lo + 1 };
  return { hi: (t.hi + 1) % HI_MAX, lo: 0 };
}

export const encodeTail = (t: Tail): string => base62(t.hi, 6) + base62(t.lo, 7);

/** A random tail in the lower half of the range, so a millisecond's increments never wrap. */
function randomTail(): Tail {
  const b = randomBytes(12);
  return { hi: b.readUIntBE(0, 6) % (HI_MAX / 2), lo: b.readUIntBE(6, 6) % LO_MAX };
}

let lastMs = -1;
let lastTail: Tail = { hi: 0, lo: 0 };

export function newId(prefix: IdPrefix | string, nowMs: number = Date.now()): string {
  const log = replay.getStore();
  if (!log) return makeId(prefix, nowMs);
  const earlier = log.ids[log.next];
  if (earlier !== undefined && hasPrefix(earlier, prefix)) {
    log.next++;
    return earlier;
  }
  // First run, or the rerun took another path from here: the earlier run's remaining ids are dropped.
  const id = makeId(prefix, nowMs);
  log.ids.length = log.next;
  log.ids.push(id);
  log.next++;
  return id;
}

function makeId(prefix: string, nowMs: number): string {
  // Ids order rows for pagination, so they follow real elapsed time even when a manual clock is frozen.
  const ms = Math.max(nowMs, lastMs);
  if (ms === lastMs) {
    lastTail = incrementTail(lastTail);
  } else {
    lastMs = ms;
    lastTail = randomTail();
  }
  return `${prefix}_${base62(ms, TIME_LEN)}${encodeTail(lastTail)}`;
}

/**
 * Ids made inside a transaction that PostgreSQL aborted (a deadlock) and that is run again: the rerun
 * gets the same ids, in the same order, as long as it asks for the same kinds. Nothing of the aborted
 * run was committed, so the ids are still unused — and whatever was derived from them and sent
 * outside (a gateway idempotency key such as `in_…:attempt:1`) is the same on the rerun, so a charge
 * that went through is answered from the gateway's idempotency store instead of being made again.
 */
interface IdLog {
  ids: string[];
  next: number;
}
const replay = new AsyncLocalStorage<IdLog>();

/** A scope whose every run (of the same work) gets the ids of the first run again. */
export function idReplayScope(): <T>(fn: () => Promise<T>) => Promise<T> {
  const log: IdLog = { ids: [], next: 0 };
  return (fn) => {
    log.next = 0;
    return replay.run(log, fn);
  };
}

/** The tail of an id has no underscore, so `sub_sched_…` does not count as a `sub_…`. */
export function hasPrefix(id: string, prefix: string): boolean {
  return id.startsWith(prefix + '_') && !id.slice(prefix.length + 1).includes('_');
}
