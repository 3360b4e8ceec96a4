// Stripe's billing_cycle_anchor_config: the anchor as "the next occurrence of the day_of_month at the
// hour, minute, and second UTC" (and, with `month`, of that month), the day clamped to the last day of
// a shorter month. Hour, minute and second left out take the base instant's (the subscription's
// creation, or its trial end): Stripe's documented defaults are the creation time's.

export interface AnchorConfig {
  day_of_month: number;
  hour?: number;
  minute?: number;
  second?: number;
  month?: number;
}

const daysIn = (year: number, month0: number) => new Date(Date.UTC(year, month0 + 1, 0)).getUTCDate();

/** The first instant at or after `base` that matches the config (UTC). */
export function anchorFromConfig(base: Date, c: AnchorConfig): Date {
  const h = c.hour ?? base.getUTCHours();
  const mi = c.minute ?? base.getUTCMinutes();
  const s = c.second ?? base.getUTCSeconds();
  const at = (year: number, month0: number) => {
    // Date.UTC normalises a month past December into the next year.
    const y = year + Math.floor(month0 / 12);
    const m = month0 % 12;
    return new Date(Date.UTC(y, m, Math.min(c.day_of_month, daysIn(y, m)), h, mi, s));
  };
  const year = base.getUTCFullYear();
  const candidates =
    c.month !== undefined
      ? [at(year, c.month - 1), at(year + 1, c.month - 1)]
      : [at(year, base.getUTCMonth()), at(year, base.getUTCMonth() + 1)];
  return candidates.find((d) => d.getTime() >= base.getTime())!;
}
