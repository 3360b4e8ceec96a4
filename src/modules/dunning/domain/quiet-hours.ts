// Quiet hours in the customer's timezone, with no I/O and no timezone library: Intl gives the wall
// clock of an instant in a zone; converting a wall-clock time back is a fixed point over the zone's
// offset (two rounds settle it, DST included).

export interface QuietHours {
  /** Local 'HH:MM' when quiet hours begin (inclusive) … */
  start: string;
  /** … and end (exclusive). start > end spans midnight (21:00–08:00). */
  end: string;
}

interface Parts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formatters.set(tz, f);
  }
  return f;
}

export function localParts(d: Date, tz: string): Parts {
  const out: Record<string, number> = {};
  for (const p of formatter(tz).formatToParts(d)) if (p.type !== 'literal') out[p.type] = Number(p.value);
  return { year: out.year!, month: out.month!, day: out.day!, hour: out.hour! % 24, minute: out.minute!, second: out.second! };
}

/** The zone's offset from UTC at instant `ms`, in ms (local − UTC). */
function offsetAt(ms: number, tz: string): number {
  const p = localParts(new Date(ms), tz);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant at which the wall clock in `tz` shows the given local time: the earlier one when the
 * clocks go back and it shows twice, the time as far after the gap when they go forward and it never
 * shows. A day either side of the wall time, the zone has at most two offsets (one change per day);
 * an offset is right when the instant it gives has that offset itself.
 */
export function zonedTimeToUtc(year: number, month: number, day: number, hour: number, minute: number, tz: string): Date {
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  const before = wall - offsetAt(wall - 86_400_000, tz);
  const after = wall - offsetAt(wall + 86_400_000, tz);
  const valid = [before, after].filter((t) => wall - offsetAt(t, tz) === t);
  return new Date(valid.length ? Math.min(...valid) : Math.max(before, after));
}

function minutes(hhmm: string): number {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(hhmm);
  if (!m) throw new RangeError(`Not a HH:MM time: ${hhmm}`);
  return Number(m[1]) * 60 + Number(m[2]);
}

export function isValidHhmm(s: string): boolean {
  return /^([01]\d|2[0-3]):([0-5]\d)$/.test(s);
}

export function isQuiet(d: Date, qh: QuietHours, tz: string): boolean {
  const start = minutes(qh.start);
  const end = minutes(qh.end);
  if (start === end) return false;
  const p = localParts(d, tz);
  const m = p.hour * 60 + p.minute;
  return start < end ? m >= start && m < end : m >= start || m < end;
}

/** `d` itself outside quiet hours; otherwise the instant quiet hours end, in the customer's zone. */
export function outOfQuietHours(d: Date, qh: QuietHours | null, tz: string): Date {
  if (!qh || !isQuiet(d, qh, tz)) return d;
  const end = minutes(qh.end);
  const p = localParts(d, tz);
  const m = p.hour * 60 + p.minute;
  // Before the end on the same local day (the morning part), or the next local day's end.
  const next = new Date(Date.UTC(p.year, p.month - 1, p.day + (m < end ? 0 : 1)));
  const at = zonedTimeToUtc(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), Math.floor(end / 60), end % 60, tz);
  return at.getTime() > d.getTime() ? at : d;
}
