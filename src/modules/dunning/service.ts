import { newId } from '../../core/ids/index.js';
import { formatMoney, multiplyRatio } from '../../core/money/index.js';
import { toUnix } from '../../core/time/index.js';
import type { Queryable } from '../../db/index.js';
import type { AppDeps } from '../../deps.js';
import { recordEvent } from '../events/service.js';
import { getInvoiceRow, markUncollectible, payInvoice } from '../invoices/service.js';
import type { InvoiceRow } from '../invoices/repository.js';
import type { Notifier } from '../notifications/channels.js';
import { customerContext, enqueueMessage, formatDate } from '../notifications/service.js';
import { findSubscription } from '../subscriptions/repository.js';
import { transition } from '../subscriptions/state.js';
import { chooseSegment, DEFAULT_SEGMENT_RULES, describeOffer, stepDueAt, type CustomerFacts, type PlanStep, type SegmentRule } from './domain/plans.js';
import {
  expireOpenOffers,
  findCampaignByInvoice,
  findPlan,
  getSetting,
  insertCampaignOnce,
  insertStepRun,
  offersOf,
  updateCampaign,
  type CampaignRow,
  type PlanRow,
} from './repository.js';
import { createOffer } from './offers.js';
import { createPhoneTask } from './tasks.js';

// Campaigns: one per failed invoice, opened from `invoice.payment_failed`, run step by step at the
// plan's offsets from the first failure (moved out of the customer's quiet hours), closed when the
// invoice is paid (recovered), when its last step fails (exhausted: the plan's final action) or when
// something else settles the invoice (an offer, a void). Retries go through payInvoice, i.e. the
// payment router, like every other charge.

export type DunningDeps = Pick<AppDeps, 'gateways' | 'config'> & { notifier: Notifier };

/** How a recovered campaign got its money: the scheduled retry, the link in an email or SMS, a call, a card saved elsewhere. */
export type RecoveryChannel = 'retry' | 'email' | 'sms' | 'phone' | 'card_update' | 'other';

export const SEGMENTATION_KEY = 'segmentation';

export async function segmentRules(q: Queryable): Promise<SegmentRule[]> {
  return (await getSetting<SegmentRule[]>(q, SEGMENTATION_KEY)) ?? [...DEFAULT_SEGMENT_RULES];
}

/** The customer's MRR and lifetime payments in the invoice's currency, and whether this is the first invoice after a trial. */
export async function customerFacts(q: Queryable, inv: InvoiceRow): Promise<CustomerFacts> {
  const { rows: items } = await q.query<{ amount: number; quantity: number; interval: string; interval_count: number }>(
    `SELECT COALESCE(CASE WHEN p.currency = s.currency THEN p.unit_amount END, (p.currency_options->s.currency->>'unit_amount')::bigint, 0) AS amount,
            si.quantity, s.interval, s.interval_count
       FROM subscriptions s JOIN subscription_items si ON si.subscription = s.id JOIN prices p ON p.id = si.price
      WHERE s.customer = $1 AND s.currency = $2 AND s.status IN ('active', 'past_due', 'unpaid')`,
    [inv.customer, inv.currency],
  );
  // Normalised to a month and rounded once per item: a segmentation threshold, not a posted amount.
  const perMonth: Record<string, [number, number]> = { month: [1, 1], year: [1, 12], week: [52, 12], day: [365, 12] };
  const mrr = items.reduce((sum, i) => {
    const [num, den] = perMonth[i.interval] ?? [1, 1];
    return sum + multiplyRatio(Number(i.amount) * i.quantity, num, den * i.interval_count);
  }, 0);
  const { rows: paid } = await q.query<{ total: string | number | null }>(
    `SELECT sum(amount_paid) AS total FROM invoices WHERE customer = $1 AND currency = $2 AND status = 'paid'`,
    [inv.customer, inv.currency],
  );
  let firstAfterTrial = false;
  if (inv.subscription) {
    const sub = await findSubscription(q, inv.subscription);
    if (sub?.trial_end && new Date(inv.period_start).getTime() === new Date(sub.trial_end).getTime()) {
      const { rows } = await q.query(`SELECT 1 FROM invoices WHERE subscription = $1 AND status = 'paid' AND amount_paid > 0 LIMIT 1`, [sub.id]);
      firstAfterTrial = rows.length === 0;
    }
  }
  return { currency: inv.currency, mrr, lifetime_paid: Number(paid[0]?.total ?? 0), first_invoice_after_trial: firstAfterTrial };
}

/** The payment method the next charge would use (Stripe's order), if it is still attached. */
export async function currentPaymentMethod(q: Queryable, inv: InvoiceRow): Promise<{ id: string; last4: string } | null> {
  const { rows } = await q.query<{ id: string; last4: string; rank: number }>(
    `SELECT pm.id, pm.card->>'last4' AS last4, c.rank FROM (
        SELECT $2::text AS id, 1 AS rank
        UNION ALL SELECT s.default_payment_method, 2 FROM subscriptions s WHERE s.id = $3
        UNION ALL SELECT cu.invoice_settings->>'default_payment_method', 3 FROM customers cu WHERE cu.id = $1
      ) c JOIN payment_methods pm ON pm.id = c.id
      WHERE pm.customer = $1 AND pm.detached_at IS NULL ORDER BY c.rank LIMIT 1`,
    [inv.customer, inv.default_payment_method, inv.subscription],
  );
  return rows[0] ? { id: rows[0].id, last4: rows[0].last4 } : null;
}

/** What the customer is paying for, as they know it: the products on the invoice. */
export async function planNameOf(q: Queryable, invoiceId: string): Promise<string> {
  const { rows } = await q.query<{ name: string }>(
    `SELECT DISTINCT pr.name FROM invoice_lines l JOIN prices p ON p.id = l.price JOIN products pr ON pr.id = p.product WHERE l.invoice = $1 ORDER BY pr.name`,
    [invoiceId],
  );
  return rows.map((r) => r.name).join(', ') || 'your subscription';
}

async function planOf(q: Queryable, c: CampaignRow): Promise<PlanRow | null> {
  return c.plan ? findPlan(q, c.plan) : null;
}

/**
 * Opens the invoice's campaign after its first failed payment (a second call finds it and only notes
 * the failure). Invoices outside dunning (send_invoice, a first invoice of an incomplete
 * subscription) get a `skipped` campaign so the failure is still recorded, and the customer told.
 */
export async function openCampaign(q: Queryable, deps: DunningDeps, invoiceId: string, failedAt: Date, now: Date): Promise<CampaignRow | null> {
  const existing = await findCampaignByInvoice(q, invoiceId, true);
  if (existing) return existing.status === 'active' ? noteFailure(q, existing, now) : existing;
  const inv = await getInvoiceRow(q, invoiceId);
  if (inv.status !== 'open' || inv.collection_method !== 'charge_automatically') return null;
  const sub = inv.subscription ? await findSubscription(q, inv.subscription) : null;
  const ctx = await customerContext(q, inv.customer, deps.config.notifications);
  const tz = ctx?.timezone ?? deps.config.notifications.defaultTimezone;

  let plan: PlanRow | null = null;
  let segment = 'none';
  let ruleInfo: Record<string, unknown> = {};
  let skipReason: string | null = null;
  if (sub?.status === 'incomplete') {
    skipReason = 'incomplete_subscription';
  } else {
    const facts = await customerFacts(q, inv);
    const chosen = chooseSegment(await segmentRules(q), facts);
    segment = chosen?.rule.segment ?? 'standard';
    plan = await findPlan(q, chosen?.rule.plan ?? 'standard');
    if (plan && !plan.active) plan = await findPlan(q, 'standard');
    ruleInfo = { rule: chosen?.rule ?? null, matched: chosen?.matched ?? [], facts };
    if (!plan) skipReason = 'no_plan';
  }
  const first = plan?.steps[0];
  const campaign = await insertCampaignOnce(q, {
    id: newId('dcamp'),
    invoice: inv.id,
    customer: inv.customer,
    subscription: inv.subscription,
    plan: plan?.id ?? null,
    segment,
    segment_rule: ruleInfo,
    status: skipReason ? 'skipped' : 'active',
    amount: inv.amount_remaining,
    currency: inv.currency,
    first_failed_at: failedAt,
    next_step: 0,
    next_step_at: skipReason || !first ? null : stepDueAt(failedAt, first, plan!.quiet_hours, tz),
    last_payment_method: null,
    blocked_payment_methods: [],
    needs_payment_method: false,
    promise_until: null,
    no_answer_count: 0,
    escalated_at: null,
    recovered_at: null,
    recovered_amount: null,
    recovered_step: null,
    recovered_channel: null,
    closed_at: skipReason ? now : null,
    close_reason: skipReason,
    test_clock: inv.test_clock,
    created: now,
    updated: now,
  });
  if (!campaign) return findCampaignByInvoice(q, invoiceId);
  const noted = campaign.status === 'active' ? await noteFailure(q, campaign, now) : campaign;
  if (noted.status === 'active') await recordEvent(q, now, { type: 'dunning.campaign.opened', object: await campaignObject(q, noted), customerId: noted.customer });
  // The "payment failed" notice: at once, with the link and (when a retry will come) its date.
  const nextRetry = plan && first?.retry && !noted.needs_payment_method ? noted.next_step_at : null;
  await enqueueMessage(q, deps.config, {
    customer: inv.customer,
    template: 'payment_failed',
    channel: 'email',
    vars: await invoiceVars(q, inv, ctx, { next_attempt_date: nextRetry && ctx ? formatDate(nextRetry, ctx, true) : null }),
    dedupeKey: `payment_failed:${inv.id}`,
    payLinkFor: { customer: inv.customer, invoice: inv.id },
    campaign: noted.id,
    objectId: inv.id,
    now,
  });
  return noted;
}

/** Variables every invoice-related message uses. */
export async function invoiceVars(
  q: Queryable,
  inv: InvoiceRow,
  ctx: { timezone: string; locale: string } | null,
  extra: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const pm = await currentPaymentMethod(q, inv);
  const c = ctx ?? { timezone: 'UTC', locale: 'en' };
  return {
    amount: formatMoney({ amount: inv.amount_remaining || inv.amount_due, currency: inv.currency }, localeTag(c.locale)),
    plan_name: await planNameOf(q, inv.id),
    last4: pm?.last4 ?? null,
    invoice_number: inv.number,
    due_date: inv.due_date ? formatDate(new Date(inv.due_date), c) : null,
    ...extra,
  };
}

export function localeTag(locale: string): string {
  try {
    return Intl.getCanonicalLocales(locale)[0] ?? 'en-US';
  } catch {
    return 'en-US';
  }
}

/** After a failed attempt: a hard decline or fraud blocks that payment method; no method at all asks for one. */
export async function noteFailure(q: Queryable, c: CampaignRow, now: Date): Promise<CampaignRow> {
  const { rows } = await q.query<{ payment_method: string | null; failure_class: string | null; code: string | null; status: string }>(
    `SELECT payment_method, failure_class, last_payment_error->>'code' AS code, status FROM payment_intents WHERE invoice = $1 ORDER BY id DESC LIMIT 1`,
    [c.invoice],
  );
  const pi = rows[0];
  if (!pi || pi.status !== 'requires_payment_method') return c;
  const blocked = new Set(c.blocked_payment_methods);
  let needs = c.needs_payment_method;
  if (pi.failure_class === 'hard_decline' || pi.failure_class === 'fraud') {
    if (pi.payment_method) blocked.add(pi.payment_method);
    needs = true;
  }
  if (pi.code === 'payment_method_missing') needs = true;
  if (needs === c.needs_payment_method && blocked.size === c.blocked_payment_methods.length && pi.payment_method === c.last_payment_method) return c;
  return updateCampaign(q, c.id, { blocked_payment_methods: [...blocked], needs_payment_method: needs, last_payment_method: pi.payment_method ?? c.last_payment_method, updated: now });
}

/** Runs the campaign's due step (or, past the last one, its final action). The caller holds the row locked. */
export async function runStep(q: Queryable, deps: DunningDeps, campaign: CampaignRow, now: Date): Promise<void> {
  let c = campaign;
  const inv = await getInvoiceRow(q, c.invoice, true);
  if (inv.status !== 'open') {
    await settleFromInvoice(q, deps, c, inv, now);
    return;
  }
  // Canceling the subscription stopped automatic collection of its invoices (Stripe): no more retries.
  if (inv.subscription && !inv.auto_advance) {
    const { rows } = await q.query<{ status: string }>(`SELECT status FROM subscriptions WHERE id = $1`, [inv.subscription]);
    if (rows[0]?.status === 'canceled' || rows[0]?.status === 'incomplete_expired') {
      await closeCampaign(q, c, now, 'canceled', 'subscription_canceled');
      return;
    }
  }
  // A deleted customer is not asked for money again (their cards are detached, collection stopped).
  const { rows: owner } = await q.query<{ deleted_at: Date | null }>(`SELECT deleted_at FROM customers WHERE id = $1`, [inv.customer]);
  if (owner[0]?.deleted_at) {
    await closeCampaign(q, c, now, 'canceled', 'customer_deleted');
    return;
  }
  const plan = await planOf(q, c);
  if (!plan) {
    await closeCampaign(q, c, now, 'canceled', 'plan_missing');
    return;
  }
  if (c.next_step >= plan.steps.length) {
    await exhaust(q, deps, c, plan, inv, now);
    return;
  }
  const stepIndex = c.next_step;
  const step = plan.steps[stepIndex]!;
  const actions: { type: string; id?: string; detail?: string }[] = [];
  let retry: 'succeeded' | 'failed' | 'skipped' | 'pending' | null = null;
  let failureClass: string | null = null;
  let paymentIntent: string | null = null;

  if (step.retry) {
    const pm = await currentPaymentMethod(q, inv);
    if (!pm || c.blocked_payment_methods.includes(pm.id)) {
      retry = 'skipped';
      if (!c.needs_payment_method) c = await updateCampaign(q, c.id, { needs_payment_method: true, updated: now });
    } else {
      const res = await payInvoice(q, deps, inv.id, now, { paymentMethod: pm.id });
      paymentIntent = (res.paymentIntent?.id as string | undefined) ?? null;
      if (res.succeeded) {
        await insertStepRun(q, { id: newId('dstep'), campaign: c.id, step: stepIndex, scheduled_at: c.next_step_at ?? now, ran_at: now, retry: 'succeeded', failure_class: null, payment_intent: paymentIntent, actions });
        await recover(q, c, now, 'retry', stepIndex);
        return;
      }
      failureClass = res.error?.failure_class ?? null;
      retry = failureClass === 'gateway_fault' ? 'pending' : 'failed';
      c = await updateCampaign(q, c.id, { last_payment_method: pm.id, updated: now });
      c = await noteFailure(q, c, now);
    }
  }

  const ctx = await customerContext(q, c.customer, deps.config.notifications);
  const tz = ctx?.timezone ?? deps.config.notifications.defaultTimezone;
  const isLast = stepIndex === plan.steps.length - 1;
  const nextStep = plan.steps[stepIndex + 1];
  const nextAt = nextStep
    ? new Date(Math.max(stepDueAt(new Date(c.first_failed_at), nextStep, plan.quiet_hours, tz).getTime(), now.getTime()))
    : new Date(now.getTime() + plan.final_action.grace_hours * 3_600_000);
  // A promise to pay (from a call) holds the outreach, not the retries.
  const outreach = !(c.promise_until && new Date(c.promise_until).getTime() > now.getTime());

  let offerText: string | null = null;
  if (step.offer && outreach) {
    const offer = await createOffer(q, c, step.offer, stepIndex, now);
    if (offer) {
      actions.push({ type: 'offer', id: offer.id, detail: offer.kind });
      offerText = describeOffer(step.offer, (m) => formatMoney({ amount: m, currency: c.currency }, localeTag(ctx?.locale ?? 'en')), inv.amount_remaining);
    }
  }
  if (outreach) {
    const nextRetry = nextStep?.retry && !c.needs_payment_method ? nextAt : null;
    const vars = await invoiceVars(q, inv, ctx, { offer: offerText, next_attempt_date: nextRetry && ctx ? formatDate(nextRetry, ctx, true) : null, attempt: stepIndex + 1 });
    if (step.email || (c.needs_payment_method && step.retry)) {
      const template = c.needs_payment_method ? 'dunning_card_update' : step.email!;
      const m = await enqueueMessage(q, deps.config, {
        customer: c.customer,
        template,
        channel: 'email',
        vars,
        dedupeKey: `dunning:${c.id}:${stepIndex}:email`,
        payLinkFor: { customer: c.customer, invoice: c.invoice },
        campaign: c.id,
        objectId: inv.id,
        now,
      });
      if (m) actions.push({ type: 'email', id: m.id, detail: template });
    }
    if (step.sms) {
      const m = await enqueueMessage(q, deps.config, {
        customer: c.customer,
        template: step.sms,
        channel: 'sms',
        vars,
        dedupeKey: `dunning:${c.id}:${stepIndex}:sms`,
        payLinkFor: { customer: c.customer, invoice: c.invoice },
        campaign: c.id,
        objectId: inv.id,
        now,
      });
      if (m) actions.push({ type: 'sms', id: m.id, detail: step.sms });
    }
    if (step.phone_task) {
      const t = await createPhoneTask(q, c, inv, stepIndex, step.phone_task.script, now);
      if (t) actions.push({ type: 'phone_task', id: t.id });
    }
  }
  if (step.escalate && !c.escalated_at) {
    const m = await escalate(q, deps, c, inv, now, `step ${stepIndex + 1} of the ${plan.name} plan`);
    if (m) actions.push({ type: 'escalation', id: m });
    c = await updateCampaign(q, c.id, { escalated_at: now, updated: now });
  }
  await insertStepRun(q, { id: newId('dstep'), campaign: c.id, step: stepIndex, scheduled_at: c.next_step_at ?? now, ran_at: now, retry, failure_class: failureClass, payment_intent: paymentIntent, actions });
  c = await updateCampaign(q, c.id, { next_step: stepIndex + 1, next_step_at: nextAt, updated: now });
  if (isLast && plan.final_action.grace_hours === 0) await exhaust(q, deps, c, plan, inv, now);
}

/** Tells the owner, once per campaign, with what a person needs to act. */
export async function escalate(q: Queryable, deps: DunningDeps, c: CampaignRow, inv: InvoiceRow, now: Date, why: string): Promise<string | null> {
  const ctx = await customerContext(q, c.customer, deps.config.notifications);
  const { rows: tasks } = await q.query<{ outcome: string | null; completed_at: Date | null; notes: string | null }>(
    `SELECT outcome, completed_at, notes FROM dunning_tasks WHERE campaign = $1 ORDER BY step`,
    [c.id],
  );
  const { rows: pis } = await q.query<{ decline: string | null }>(
    `SELECT COALESCE(last_payment_error->>'decline_code', last_payment_error->>'code') AS decline FROM payment_intents WHERE invoice = $1 ORDER BY id DESC LIMIT 1`,
    [inv.id],
  );
  const calls = tasks.map((t) => (t.outcome ? `${t.outcome}${t.notes ? ` (${t.notes})` : ''}` : 'open')).join('; ') || 'none';
  const vars = await invoiceVars(q, inv, ctx, {
    customer_name: ctx?.customer.name ?? ctx?.customer.email ?? c.customer,
    customer_email: ctx?.customer.email ?? '-',
    customer_id: c.customer,
    first_failed_date: ctx ? formatDate(new Date(c.first_failed_at), ctx, true) : new Date(c.first_failed_at).toISOString(),
    attempts: inv.attempt_count,
    decline_reason: pis[0]?.decline ?? 'unknown',
    call_summary: `${calls} — escalated at ${why}`,
  });
  const m = await enqueueMessage(q, deps.config, {
    customer: null,
    to: deps.notifier.ownerEmail ?? deps.config.notifications.ownerEmail ?? null,
    template: 'dunning_escalation',
    channel: 'email',
    vars,
    dedupeKey: `dunning:${c.id}:escalation`,
    payLinkFor: { customer: c.customer, invoice: c.invoice },
    campaign: c.id,
    objectId: inv.id,
    testClock: c.test_clock,
    now,
  });
  return m?.id ?? null;
}

/** Closes a campaign whose invoice was settled some other way. */
export async function settleFromInvoice(q: Queryable, deps: DunningDeps, c: CampaignRow, inv: InvoiceRow, now: Date, channel?: RecoveryChannel): Promise<void> {
  if (c.status !== 'active') return;
  if (inv.status === 'paid') await recover(q, c, now, channel ?? (await inferChannel(q, c)), c.next_step > 0 ? c.next_step - 1 : 0);
  else if (inv.status === 'void') await closeCampaign(q, c, now, 'canceled', 'invoice_voided');
  else if (inv.status === 'uncollectible') await closeCampaign(q, c, now, 'canceled', 'invoice_uncollectible');
}

async function inferChannel(q: Queryable, c: CampaignRow): Promise<RecoveryChannel> {
  const { rows } = await q.query(`SELECT 1 FROM dunning_tasks WHERE campaign = $1 AND outcome IN ('reached', 'promised_to_pay')`, [c.id]);
  return rows.length ? 'phone' : 'other';
}

/** The invoice is paid: the campaign is recovered (the subscription moved back to active with the payment; the receipt goes out from invoice.paid). */
export async function recover(q: Queryable, c: CampaignRow, now: Date, channel: RecoveryChannel, step: number | null): Promise<CampaignRow> {
  const inv = await getInvoiceRow(q, c.invoice);
  const after = await updateCampaign(q, c.id, {
    status: 'recovered',
    recovered_at: now,
    recovered_amount: inv.amount_paid,
    recovered_step: step,
    recovered_channel: channel,
    next_step_at: null,
    closed_at: now,
    close_reason: 'paid',
    updated: now,
  });
  await expireOpenOffers(q, c.id);
  await q.query(`UPDATE dunning_tasks SET status = 'canceled', updated = $2 WHERE campaign = $1 AND status = 'open'`, [c.id, now]);
  await recordEvent(q, now, { type: 'dunning.recovered', object: await campaignObject(q, after), customerId: c.customer });
  return after;
}

export async function closeCampaign(q: Queryable, c: CampaignRow, now: Date, status: 'resolved' | 'canceled', reason: string): Promise<CampaignRow> {
  const after = await updateCampaign(q, c.id, { status, next_step_at: null, closed_at: now, close_reason: reason, updated: now });
  await expireOpenOffers(q, c.id);
  await q.query(`UPDATE dunning_tasks SET status = 'canceled', updated = $2 WHERE campaign = $1 AND status = 'open'`, [c.id, now]);
  await recordEvent(q, now, { type: `dunning.campaign.${status}`, object: await campaignObject(q, after), customerId: c.customer });
  return after;
}

/** The last step failed: the plan's final action on the subscription and the invoice, then `dunning.exhausted`. */
export async function exhaust(q: Queryable, deps: DunningDeps, c: CampaignRow, plan: PlanRow, inv: InvoiceRow, now: Date): Promise<void> {
  const after = await updateCampaign(q, c.id, { status: 'exhausted', next_step_at: null, closed_at: now, close_reason: 'exhausted', updated: now });
  await expireOpenOffers(q, c.id);
  await q.query(`UPDATE dunning_tasks SET status = 'canceled', updated = $2 WHERE campaign = $1 AND status = 'open'`, [c.id, now]);
  const fa = plan.final_action;
  const sub = c.subscription ? await findSubscription(q, c.subscription, true) : null;
  let canceled = false;
  if (sub && !['canceled', 'incomplete_expired'].includes(sub.status)) {
    if (fa.subscription === 'cancel') {
      await transition(q, sub, { status: 'canceled', canceled_at: now, ended_at: now, cancel_at_period_end: false, cancellation_details: { reason: 'payment_failed' } }, now, 'customer.subscription.deleted');
      canceled = true;
    } else if (fa.subscription === 'mark_unpaid' && sub.status !== 'unpaid') {
      await transition(q, sub, { status: 'unpaid' }, now);
    }
  }
  if (fa.invoice === 'mark_uncollectible' && inv.status === 'open') await markUncollectible(q, inv.id, now);
  await recordEvent(q, now, { type: 'dunning.exhausted', object: { ...(await campaignObject(q, after)), final_action: fa }, customerId: c.customer });
  const ctx = await customerContext(q, c.customer, deps.config.notifications);
  await enqueueMessage(q, deps.config, {
    customer: c.customer,
    template: 'dunning_exhausted',
    channel: 'email',
    vars: await invoiceVars(q, inv, ctx, { canceled }),
    dedupeKey: `dunning:${c.id}:exhausted`,
    payLinkFor: { customer: c.customer, invoice: c.invoice },
    campaign: c.id,
    objectId: inv.id,
    now,
  });
}

/**
 * A new payment method was saved (or made the default) while the campaign is open: retry at once with
 * it, unless it is the one that already failed or was hard-declined.
 */
export async function retryWithNewCard(q: Queryable, deps: DunningDeps, c: CampaignRow, now: Date, channel: RecoveryChannel = 'card_update'): Promise<boolean | null> {
  const inv = await getInvoiceRow(q, c.invoice, true);
  if (inv.status !== 'open') {
    await settleFromInvoice(q, deps, c, inv, now);
    return null;
  }
  const pm = await currentPaymentMethod(q, inv);
  if (!pm || pm.id === c.last_payment_method || c.blocked_payment_methods.includes(pm.id)) return null;
  const res = await payInvoice(q, deps, inv.id, now, { paymentMethod: pm.id });
  if (res.succeeded) {
    await recover(q, c, now, channel, c.next_step > 0 ? c.next_step - 1 : 0);
    return true;
  }
  await noteFailure(q, await updateCampaign(q, c.id, { last_payment_method: pm.id, needs_payment_method: false, updated: now }), now);
  return false;
}

// ---------- API object ----------

const unix = (d: Date | null) => (d ? toUnix(new Date(d)) : null);

export function serializeCampaign(c: CampaignRow) {
  return {
    id: c.id,
    object: 'dunning_campaign' as const,
    amount: c.amount,
    blocked_payment_methods: c.blocked_payment_methods,
    close_reason: c.close_reason,
    closed_at: unix(c.closed_at),
    created: unix(c.created)!,
    currency: c.currency,
    customer: c.customer,
    escalated_at: unix(c.escalated_at),
    first_failed_at: unix(c.first_failed_at)!,
    invoice: c.invoice,
    needs_payment_method: c.needs_payment_method,
    next_step: c.next_step,
    next_step_at: unix(c.next_step_at),
    plan: c.plan,
    promise_until: unix(c.promise_until),
    recovered_amount: c.recovered_amount,
    recovered_at: unix(c.recovered_at),
    recovered_channel: c.recovered_channel,
    recovered_step: c.recovered_step,
    segment: c.segment,
    segment_rule: c.segment_rule,
    status: c.status,
    subscription: c.subscription,
    test_clock: c.test_clock,
  };
}

export async function campaignObject(q: Queryable, c: CampaignRow) {
  const offers = await offersOf(q, c.id);
  return { ...serializeCampaign(c), offers: offers.map((o) => ({ id: o.id, kind: o.kind, step: o.step, status: o.status })) };
}

export type { PlanStep };
