// How a schedule's phases collect: collection_method, invoice_settings.days_until_due and
// default_payment_method, on a phase or in the schedule's default_settings (which phases without their
// own take). Checked when set, as a subscription's own are: days_until_due goes with send_invoice (and
// send_invoice needs it), and a payment method must be the customer's (a Stripe test id such as
// pm_card_visa creates one). Put in place when the phase starts (lifecycle.ts).
import type { Queryable } from '../../db/index.js';
import { InvalidRequestError } from '../../core/errors/index.js';
import { resolvePaymentMethod, type PaymentDeps } from '../payments/service.js';
import { effectiveSettings, type Phase, type PhaseSettings } from './domain/phases.js';
import type { CreateScheduleInput } from './schemas.js';

type SettingsInput = NonNullable<CreateScheduleInput['default_settings']>;

interface Context {
  q: Queryable;
  deps: PaymentDeps;
  now: Date;
  customer: string;
}

/** The settings as given (a payment method resolved to its id), nothing filled in. */
async function own(c: Context, input: SettingsInput, prefix: string): Promise<PhaseSettings> {
  const out: PhaseSettings = {};
  if (input.collection_method) out.collection_method = input.collection_method;
  if (input.automatic_tax) out.automatic_tax = input.automatic_tax.enabled;
  if (input.invoice_settings?.days_until_due !== undefined) out.days_until_due = input.invoice_settings.days_until_due;
  if (input.default_payment_method) {
    out.default_payment_method = (await resolvePaymentMethod(c.q, c.deps, input.default_payment_method, c.customer, c.now, { param: `${prefix}[default_payment_method]` })).id;
  }
  return out;
}

/** days_until_due only with send_invoice, and send_invoice only with days_until_due (Stripe's rule for subscriptions). */
function check(settings: PhaseSettings, given: PhaseSettings, prefix: string): void {
  const param = `${prefix}[invoice_settings][days_until_due]`;
  if (given.days_until_due != null && settings.collection_method !== 'send_invoice') {
    throw new InvalidRequestError('days_until_due can only be set with collection_method send_invoice.', param, 'parameter_invalid');
  }
  if (settings.collection_method === 'send_invoice' && settings.days_until_due == null) {
    throw new InvalidRequestError('days_until_due is required when collection_method is send_invoice.', param, 'parameter_missing');
  }
}

/** The schedule's default_settings, merged over what it had (an update sets only what it names). */
export async function resolveDefaultSettings(c: Context, input: SettingsInput | undefined, current: PhaseSettings = {}): Promise<PhaseSettings> {
  if (!input) return current;
  const given = await own(c, input, 'default_settings');
  // The anchor of phases without their own (a phase's own billing_cycle_anchor is a field of the phase).
  if (input.billing_cycle_anchor) given.billing_cycle_anchor = input.billing_cycle_anchor;
  const merged = { ...current, ...given };
  // Switching the default to charge_automatically drops its days_until_due.
  if (merged.collection_method === 'charge_automatically' && given.days_until_due == null) delete merged.days_until_due;
  check(merged, given, 'default_settings');
  return merged;
}

/** Each phase's own settings, checked together with the defaults they fall back on. */
export async function resolvePhaseSettings(c: Context, phases: readonly SettingsInput[], defaults: PhaseSettings): Promise<PhaseSettings[]> {
  const out: PhaseSettings[] = [];
  for (const [i, p] of phases.entries()) {
    const prefix = `phases[${i}]`;
    const given = await own(c, p, prefix);
    check(effectiveSettings({ settings: given }, defaults), given, prefix);
    out.push(given);
  }
  return out;
}

/** Stored phases checked against new defaults (`offset`: the index of the first, for the error's param). */
export function checkPhases(phases: readonly Pick<Phase, 'settings'>[], defaults: PhaseSettings, offset: number): void {
  phases.forEach((p, i) => check(effectiveSettings(p, defaults), p.settings ?? {}, `phases[${i + offset}]`));
}
