import { AsyncLocalStorage } from 'node:async_hooks';
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
  | 'promo' | 'clock' | 'txr' | 'cn' | 'cbtxn' | 're' | 'dp' | 'whin' | 'req' | 'sched' | 'sub_sched' | 'ctx' | 'ue' | 'dcamp' | 'task'
  | 'msg';

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
    lastRand = (lastRand + 1n) % RAND_MAX;
  } else {
    lastMs = ms;
    lastRand = BigInt('0x' + randomBytes(10).toString('hex')) % (RAND_MAX / 2n);
  }
  return `${prefix}_${encode(BigInt(ms), TIME_LEN)}${encode(lastRand, RAND_LEN)}`;
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
