import { z } from 'zod';
import { listQuery, zBool, zExpand, zInt, zMetadata, zTimestamp } from '../../http/schemas.js';

const zProration = z.enum(['create_prorations', 'none', 'always_invoice']);
const zPhaseItem = z.strictObject({ price: z.string().min(1), quantity: zInt().pipe(z.number().int().min(1).max(1_000_000)).optional() });
const zPhase = z.strictObject({
  items: z.array(zPhaseItem).min(1).max(20),
  /** One-time prices billed on the phase's first invoice (a setup fee with an upgrade). */
  add_invoice_items: z.array(zPhaseItem).max(20).optional(),
  start_date: zTimestamp().optional(),
  end_date: zTimestamp().optional(),
  /** Stripe's older way to give a phase's length: billing periods of its price. */
  iterations: zInt().pipe(z.number().int().min(1).max(1000)).optional(),
  duration: z
    .strictObject({ interval: z.enum(['day', 'week', 'month', 'year']), interval_count: zInt().pipe(z.number().int().min(1).max(1000)).optional() })
    .optional(),
  proration_behavior: zProration.optional(),
  metadata: zMetadata().optional(),
});
const zPhases = z.array(zPhase).min(1).max(10);
const zEndBehavior = z.enum(['release', 'cancel']);

export const createScheduleBody = z.strictObject({
  from_subscription: z.string().min(1).optional(),
  customer: z.string().min(1).optional(),
  start_date: z.union([z.literal('now'), zTimestamp()]).optional(),
  end_behavior: zEndBehavior.optional(),
  phases: zPhases.optional(),
  metadata: zMetadata().optional(),
  expand: zExpand(),
});
export type CreateScheduleInput = z.output<typeof createScheduleBody>;

export const updateScheduleBody = z.strictObject({
  phases: zPhases.optional(),
  end_behavior: zEndBehavior.optional(),
  /** Accepted as Stripe's: Recur's phase changes fall at period ends, where nothing prorates. */
  proration_behavior: zProration.optional(),
  metadata: zMetadata().optional(),
  expand: zExpand(),
});
export type UpdateScheduleInput = z.output<typeof updateScheduleBody>;

export const cancelScheduleBody = z.strictObject({ invoice_now: zBool().optional(), prorate: zBool().optional(), expand: zExpand() });
export const releaseScheduleBody = z.strictObject({ preserve_cancel_date: zBool().optional(), expand: zExpand() });
export const listSchedulesQuery = z.strictObject({ ...listQuery, customer: z.string().optional(), scheduled: zBool().optional() });
