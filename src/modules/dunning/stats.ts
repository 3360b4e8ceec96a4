import type { Queryable } from '../../db/index.js';

// Recovery metrics over campaigns opened in [from, to): rates by count and by amount, split by
// segment, by the step that recovered, by channel; the median time from first failure to recovery;
// offers made and taken. Skipped campaigns (outside dunning) are not counted. Amounts are summed per
// currency: Recur converts no money without a rate, so a rate by amount is per currency.

interface Bucket {
  campaigns: number;
  recovered: number;
  recovery_rate: number | null;
}

const rate = (a: number, b: number) => (b === 0 ? null : Math.round((a / b) * 10_000) / 10_000);

export async function dunningStats(q: Queryable, range: { from: Date; to: Date }) {
  const params = [range.from, range.to];
  const base = `FROM dunning_campaigns WHERE status <> 'skipped' AND created >= $1 AND created < $2`;
  const { rows: totals } = await q.query<{ status: string; n: string | number }>(`SELECT status, count(*) AS n ${base} GROUP BY status`, params);
  const byStatus = Object.fromEntries(totals.map((r) => [r.status, Number(r.n)]));
  const campaigns = totals.reduce((s, r) => s + Number(r.n), 0);
  const recovered = byStatus.recovered ?? 0;

  const { rows: money } = await q.query<{ currency: string; amount: string | number; recovered_amount: string | number | null }>(
    `SELECT currency, sum(amount) AS amount, sum(recovered_amount) FILTER (WHERE status = 'recovered') AS recovered_amount ${base} GROUP BY currency ORDER BY currency`,
    params,
  );
  const { rows: segs } = await q.query<{ segment: string; n: string | number; r: string | number }>(
    `SELECT segment, count(*) AS n, count(*) FILTER (WHERE status = 'recovered') AS r ${base} GROUP BY segment ORDER BY segment`,
    params,
  );
  const { rows: steps } = await q.query<{ step: number; r: string | number }>(
    `SELECT recovered_step AS step, count(*) AS r ${base} AND status = 'recovered' AND recovered_step IS NOT NULL GROUP BY recovered_step ORDER BY recovered_step`,
    params,
  );
  const { rows: channels } = await q.query<{ channel: string; r: string | number }>(
    `SELECT recovered_channel AS channel, count(*) AS r ${base} AND status = 'recovered' GROUP BY recovered_channel ORDER BY recovered_channel`,
    params,
  );
  const { rows: median } = await q.query<{ s: number | string | null }>(
    `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM recovered_at - first_failed_at)) AS s ${base} AND status = 'recovered'`,
    params,
  );
  const { rows: offers } = await q.query<{ kind: string; offered: string | number; taken: string | number }>(
    `SELECT o.kind, count(*) AS offered, count(*) FILTER (WHERE o.status = 'accepted') AS taken
       FROM dunning_offers o JOIN dunning_campaigns c ON c.id = o.campaign
      WHERE c.status <> 'skipped' AND c.created >= $1 AND c.created < $2 GROUP BY o.kind ORDER BY o.kind`,
    params,
  );
  // Messages sent per channel, and how many campaigns they belonged to were recovered.
  const { rows: msgs } = await q.query<{ channel: string; sent: string | number; campaigns: string | number; recovered: string | number }>(
    `SELECT m.channel, count(*) AS sent, count(DISTINCT c.id) AS campaigns, count(DISTINCT c.id) FILTER (WHERE c.status = 'recovered') AS recovered
       FROM notification_messages m JOIN dunning_campaigns c ON c.id = m.campaign
      WHERE c.status <> 'skipped' AND c.created >= $1 AND c.created < $2 AND m.status IN ('sent', 'outbox') GROUP BY m.channel ORDER BY m.channel`,
    params,
  );
  const bucket = (n: number, r: number): Bucket => ({ campaigns: n, recovered: r, recovery_rate: rate(r, n) });
  return {
    object: 'dunning_stats' as const,
    from: Math.floor(range.from.getTime() / 1000),
    to: Math.floor(range.to.getTime() / 1000),
    campaigns,
    active: byStatus.active ?? 0,
    recovered,
    exhausted: byStatus.exhausted ?? 0,
    resolved: byStatus.resolved ?? 0,
    canceled: byStatus.canceled ?? 0,
    recovery_rate: rate(recovered, campaigns),
    amount: money.map((m) => ({
      currency: m.currency,
      at_risk: Number(m.amount),
      recovered: Number(m.recovered_amount ?? 0),
      recovery_rate: rate(Number(m.recovered_amount ?? 0), Number(m.amount)),
    })),
    by_segment: Object.fromEntries(segs.map((s) => [s.segment, bucket(Number(s.n), Number(s.r))])),
    by_step: Object.fromEntries(steps.map((s) => [String(s.step + 1), { recovered: Number(s.r), share: rate(Number(s.r), recovered) }])),
    by_channel: Object.fromEntries(channels.map((c) => [c.channel, { recovered: Number(c.r), share: rate(Number(c.r), recovered) }])),
    messages_by_channel: Object.fromEntries(msgs.map((m) => [m.channel, { sent: Number(m.sent), campaigns: Number(m.campaigns), recovered: Number(m.recovered), recovery_rate: rate(Number(m.recovered), Number(m.campaigns)) }])),
    median_time_to_recovery: median[0]?.s === null || median[0]?.s === undefined ? null : Math.round(Number(median[0].s)),
    offers: Object.fromEntries(offers.map((o) => [o.kind, { offered: Number(o.offered), taken: Number(o.taken), take_rate: rate(Number(o.taken), Number(o.offered)) }])),
  };
}
