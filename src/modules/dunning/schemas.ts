import { z } from 'zod';
import { listQuery, zBool, zInt, zMetadata, zNullableText, zTimestamp } from '../../http/schemas.js';
import { isValidHhmm } from './domain/quiet-hours.js';

// Plans and segmentation rules are validated here before they become data.

const zHours = () => z.preprocess((v) => (typeof v === 'string' && /^\d+(\.\d+)?$/.test(v) ? Number(v) : v), z.number().min(0).max(24 * 365));

export const zOffer = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('discount'),
    percent_off: z.preprocess((v) => (typeof v === 'string' ? Number(v) : v), z.number().gt(0).max(100)),
    duration: z.enum(['once', 'repeating']),
    duration_in_months: zInt().pipe(z.number().int().min(1).max(36)).optional(),
  }),
  z.strictObject({ kind: z.literal('trial_extension'), days: zInt().pipe(z.number().int().min(1).max(90)) }),
  z.strictObject({ kind: z.literal('payment_plan'), installments: zInt().pipe(z.number().int().min(2).max(24)), interval_days: zInt().pipe(z.number().int().min(1).max(365)) }),
]);

const zTemplateKey = z.string().min(1).max(100).regex(/^[a-z0-9_]+$/, 'must be a template key (lower case, digits, underscores)');

export const zStep = z.strictObject({
  after_hours: zHours(),
  retry: zBool().default(true),
  email: zTemplateKey.nullable().default(null),
  sms: zTemplateKey.nullable().default(null),
  phone_task: z.strictObject({ script: z.array(z.string().max(500)).max(20) }).nullable().default(null),
  offer: zOffer.nullable().default(null),
  escalate: zBool().default(false),
});

export const zFinalAction = z.strictObject({
  subscription: z.enum(['cancel', 'mark_unpaid', 'leave_past_due']),
  invoice: z.enum(['mark_uncollectible', 'leave_open']),
  grace_hours: zHours().default(0),
});

export const zQuietHours = z.strictObject({
  start: z.string().refine(isValidHhmm, 'must be HH:MM'),
  end: z.string().refine(isValidHhmm, 'must be HH:MM'),
});

const steps = z
  .array(zStep)
  .min(1)
  .max(50)
  .refine((s) => s.every((x, i) => i === 0 || x.after_hours >= s[i - 1]!.after_hours), 'steps must be in order of after_hours');

export const createPlanBody = z.strictObject({
  key: z.string().min(1).max(100).regex(/^[a-z0-9_]+$/, 'must be lower case letters, digits and underscores'),
  name: z.string().min(1).max(200),
  description: zNullableText(1000).optional(),
  steps,
  final_action: zFinalAction,
  quiet_hours: zQuietHours.nullable().optional(),
  active: zBool().optional(),
  metadata: zMetadata().optional(),
});

export const updatePlanBody = z.strictObject({
  name: z.string().min(1).max(200).optional(),
  description: zNullableText(1000).optional(),
  steps: steps.optional(),
  final_action: zFinalAction.optional(),
  quiet_hours: zQuietHours.nullable().optional(),
  active: zBool().optional(),
  metadata: zMetadata().optional(),
});

const zCurrencyThresholds = z.record(z.string().regex(/^[a-z]{3}$/, 'must be a lower-case ISO-4217 code'), zInt().pipe(z.number().int().min(0)));

export const zCondition = z.union([
  z.strictObject({ metric: z.enum(['mrr', 'lifetime_paid']), gte: zCurrencyThresholds }),
  z.strictObject({ first_invoice_after_trial: z.literal(true) }),
]);

export const segmentationBody = z.strictObject({
  rules: z
    .array(
      z.strictObject({
        id: z.string().min(1).max(100),
        segment: z.string().min(1).max(100),
        plan: z.string().min(1).max(100),
        match: z.enum(['any', 'all']).default('any'),
        conditions: z.array(zCondition).max(20).default([]),
      }),
    )
    .min(1)
    .max(50),
});

export const listCampaignsQuery = z.strictObject({
  ...listQuery,
  customer: z.string().optional(),
  status: z.enum(['active', 'recovered', 'exhausted', 'resolved', 'canceled', 'skipped']).optional(),
  invoice: z.string().optional(),
  segment: z.string().optional(),
});

export const listTasksQuery = z.strictObject({
  ...listQuery,
  status: z.enum(['open', 'completed', 'canceled']).optional(),
  assignee: z.string().optional(),
  customer: z.string().optional(),
  campaign: z.string().optional(),
});

export const updateTaskBody = z.strictObject({
  assignee: zNullableText(200).optional(),
  outcome: z.enum(['reached', 'no_answer', 'promised_to_pay', 'refused']).optional(),
  notes: zNullableText(5000).optional(),
  promised_date: zTimestamp().optional(),
  status: z.enum(['open', 'completed', 'canceled']).optional(),
});

export const statsQuery = z.strictObject({ from: zTimestamp().optional(), to: zTimestamp().optional() });
