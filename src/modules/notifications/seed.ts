import { newId } from '../../core/ids/index.js';
import type { Queryable } from '../../db/index.js';

// The English templates Recur starts with. Seeding inserts the missing ones only (ON CONFLICT DO
// NOTHING on key × locale × channel), so an operator's edits survive every restart.

export interface SeedTemplate {
  key: string;
  channel: 'email' | 'sms';
  description: string;
  essential: boolean;
  category: string;
  subject?: string;
  html?: string;
  text: string;
  required_lines?: string[];
  personalize?: boolean;
}

const PAY = '<p><a href="{{payment_update_link}}" style="display:inline-block;padding:10px 18px;background:#111827;color:#ffffff;text-decoration:none;border-radius:6px">Update your payment details</a></p>';
const OFFER_HTML = '{{#if offer}}<p style="padding:12px;background:#ecfdf5;border-radius:6px"><strong>An offer for you:</strong> {{offer}}</p>{{/if}}';
const OFFER_TEXT = '{{#if offer}}\n\nAn offer for you: {{offer}}{{/if}}';

export const SEED_TEMPLATES: readonly SeedTemplate[] = [
  {
    key: 'payment_receipt',
    channel: 'email',
    description: 'Sent once for every paid invoice with an amount.',
    essential: true,
    category: 'billing',
    subject: 'Receipt: {{amount}} for {{plan_name}}',
    html: '<p>Hi {{customer_name}},</p><p>Thank you: we received your payment of <strong>{{amount}}</strong> for {{plan_name}}{{#if last4}} (card ending {{last4}}){{/if}}.</p><p>Invoice {{invoice_number}}, paid on {{paid_date}}.</p>',
    text: 'Hi {{customer_name}},\n\nThank you: we received your payment of {{amount}} for {{plan_name}}{{#if last4}} (card ending {{last4}}){{/if}}.\n\nInvoice {{invoice_number}}, paid on {{paid_date}}.',
  },
  {
    key: 'payment_failed',
    channel: 'email',
    description: 'Sent when an automatic payment first fails.',
    essential: true,
    category: 'billing',
    subject: 'Your payment of {{amount}} did not go through',
    html: `<p>Hi {{customer_name}},</p><p>We could not collect <strong>{{amount}}</strong> for {{plan_name}}{{#if last4}} from your card ending {{last4}}{{/if}}.</p>{{#if next_attempt_date}}<p>We will try again on {{next_attempt_date}}.</p>{{/if}}<p>You can update your card in a minute:</p>${PAY}`,
    text: 'Hi {{customer_name}},\n\nWe could not collect {{amount}} for {{plan_name}}{{#if last4}} from your card ending {{last4}}{{/if}}.{{#if next_attempt_date}}\n\nWe will try again on {{next_attempt_date}}.{{/if}}\n\nUpdate your payment details: {{payment_update_link}}',
    required_lines: ['{{payment_update_link}}', '{{amount}}'],
  },
  {
    key: 'dunning_reminder',
    channel: 'email',
    description: 'A dunning step whose retry failed.',
    essential: true,
    category: 'dunning',
    subject: 'Action needed: {{amount}} for {{plan_name}} is still unpaid',
    html: `<p>Hi {{customer_name}},</p><p>We tried again to collect <strong>{{amount}}</strong> for {{plan_name}}{{#if last4}} from your card ending {{last4}}{{/if}}, and it did not go through.</p>{{#if next_attempt_date}}<p>Our next attempt is on {{next_attempt_date}}.</p>{{/if}}${OFFER_HTML}${PAY}`,
    text: `Hi {{customer_name}},\n\nWe tried again to collect {{amount}} for {{plan_name}}{{#if last4}} from your card ending {{last4}}{{/if}}, and it did not go through.{{#if next_attempt_date}}\n\nOur next attempt is on {{next_attempt_date}}.{{/if}}${OFFER_TEXT}\n\nUpdate your payment details: {{payment_update_link}}`,
    required_lines: ['{{payment_update_link}}', '{{amount}}'],
    personalize: true,
  },
  {
    key: 'dunning_card_update',
    channel: 'email',
    description: 'The card was declined for good (or is missing): we need a new one before trying again.',
    essential: true,
    category: 'dunning',
    subject: 'Please update your card: {{amount}} for {{plan_name}} is unpaid',
    html: `<p>Hi {{customer_name}},</p><p>Your bank declined your card{{#if last4}} ending {{last4}}{{/if}} in a way that means trying it again will not help. To keep {{plan_name}}, please add a new card for <strong>{{amount}}</strong>; we charge it right away.</p>${OFFER_HTML}${PAY}`,
    text: `Hi {{customer_name}},\n\nYour bank declined your card{{#if last4}} ending {{last4}}{{/if}} in a way that means trying it again will not help. To keep {{plan_name}}, please add a new card for {{amount}}; we charge it right away.${OFFER_TEXT}\n\nUpdate your payment details: {{payment_update_link}}`,
    required_lines: ['{{payment_update_link}}', '{{amount}}'],
    personalize: true,
  },
  {
    key: 'dunning_trial_onboarding',
    channel: 'email',
    description: 'Trial segment: the first payment after the trial failed; offers help getting started.',
    essential: true,
    category: 'dunning',
    subject: 'Your first payment for {{plan_name}} did not go through',
    html: `<p>Hi {{customer_name}},</p><p>Your trial of {{plan_name}} has ended and the first payment of <strong>{{amount}}</strong> did not go through.</p><p>Not sure yet? Reply to this email and we will help you set things up — a short onboarding call is on us.</p>${OFFER_HTML}${PAY}`,
    text: `Hi {{customer_name}},\n\nYour trial of {{plan_name}} has ended and the first payment of {{amount}} did not go through.\n\nNot sure yet? Reply to this email and we will help you set things up — a short onboarding call is on us.${OFFER_TEXT}\n\nUpdate your payment details: {{payment_update_link}}`,
    required_lines: ['{{payment_update_link}}', '{{amount}}'],
  },
  {
    key: 'dunning_sms',
    channel: 'sms',
    description: 'Dunning text message.',
    essential: true,
    category: 'dunning',
    text: 'Your payment of {{amount}} for {{plan_name}} failed. Update your card: {{payment_update_link}}',
  },
  {
    key: 'dunning_exhausted',
    channel: 'email',
    description: 'The campaign ran out of steps; the plan’s final action ran.',
    essential: true,
    category: 'billing',
    subject: '{{#if canceled}}Your {{plan_name}} subscription has been canceled{{else}}Your {{plan_name}} account is on hold{{/if}}',
    html: `<p>Hi {{customer_name}},</p><p>We could not collect <strong>{{amount}}</strong> for {{plan_name}} after several attempts{{#if canceled}}, so your subscription has been canceled{{else}}, so your account is on hold until the invoice is paid{{/if}}.</p><p>You can still settle the amount and come back:</p>${PAY}`,
    text: 'Hi {{customer_name}},\n\nWe could not collect {{amount}} for {{plan_name}} after several attempts{{#if canceled}}, so your subscription has been canceled{{else}}, so your account is on hold until the invoice is paid{{/if}}.\n\nYou can still settle the amount: {{payment_update_link}}',
  },
  {
    key: 'dunning_escalation',
    channel: 'email',
    description: 'To the owner: a high-value customer’s payment is still failing.',
    essential: true,
    category: 'internal',
    subject: 'Escalation: {{customer_name}} owes {{amount}} ({{plan_name}})',
    html: '<p>A high-value customer’s payment is still failing.</p><ul><li>Customer: {{customer_name}} ({{customer_email}}, {{customer_id}})</li><li>Amount due: <strong>{{amount}}</strong> on invoice {{invoice_number}}</li><li>Plan: {{plan_name}}</li><li>First failure: {{first_failed_date}}; attempts so far: {{attempts}}</li><li>Last decline: {{decline_reason}}</li><li>Calls: {{call_summary}}</li></ul><p>Payment link for the customer: <a href="{{payment_update_link}}">{{payment_update_link}}</a></p>',
    text: 'A high-value customer’s payment is still failing.\n\nCustomer: {{customer_name}} ({{customer_email}}, {{customer_id}})\nAmount due: {{amount}} on invoice {{invoice_number}}\nPlan: {{plan_name}}\nFirst failure: {{first_failed_date}}; attempts so far: {{attempts}}\nLast decline: {{decline_reason}}\nCalls: {{call_summary}}\n\nPayment link for the customer: {{payment_update_link}}',
  },
  {
    key: 'card_expiring',
    channel: 'email',
    description: 'The default card of an active subscription expires in 30 or 7 days.',
    essential: false,
    category: 'account_notices',
    subject: 'Your card ending {{last4}} expires {{expiry}}',
    html: `<p>Hi {{customer_name}},</p><p>The card ending <strong>{{last4}}</strong> that pays for {{plan_name}} expires at the end of {{expiry}} ({{days_left}} days from now). Add a new card to avoid an interruption.</p>${PAY}`,
    text: 'Hi {{customer_name}},\n\nThe card ending {{last4}} that pays for {{plan_name}} expires at the end of {{expiry}} ({{days_left}} days from now). Add a new card to avoid an interruption.\n\nUpdate your payment details: {{payment_update_link}}',
  },
  {
    key: 'upcoming_renewal',
    channel: 'email',
    description: 'A quarterly or annual subscription renews in 7 days.',
    essential: false,
    category: 'account_notices',
    subject: '{{plan_name}} renews on {{renewal_date}}',
    html: '<p>Hi {{customer_name}},</p><p>Your {{plan_name}} subscription renews on <strong>{{renewal_date}}</strong> for {{amount}}{{#if last4}}, charged to your card ending {{last4}}{{/if}}.</p>',
    text: 'Hi {{customer_name}},\n\nYour {{plan_name}} subscription renews on {{renewal_date}} for {{amount}}{{#if last4}}, charged to your card ending {{last4}}{{/if}}.',
  },
  {
    key: 'trial_ending',
    channel: 'email',
    description: 'A trial ends in 3 days.',
    essential: false,
    category: 'account_notices',
    subject: 'Your {{plan_name}} trial ends on {{trial_end_date}}',
    html: '<p>Hi {{customer_name}},</p><p>Your trial of {{plan_name}} ends on <strong>{{trial_end_date}}</strong>. After that, {{amount}} will be charged{{#if last4}} to your card ending {{last4}}{{/if}}.</p>{{#unless last4}}<p>Add a card to continue without interruption: <a href="{{payment_update_link}}">{{payment_update_link}}</a></p>{{/unless}}',
    text: 'Hi {{customer_name}},\n\nYour trial of {{plan_name}} ends on {{trial_end_date}}. After that, {{amount}} will be charged{{#if last4}} to your card ending {{last4}}{{/if}}.{{#unless last4}}\n\nAdd a card to continue without interruption: {{payment_update_link}}{{/unless}}',
  },
  {
    key: 'invoice_sent',
    channel: 'email',
    description: 'An invoice with payment terms (send_invoice) was issued.',
    essential: true,
    category: 'billing',
    subject: 'Invoice {{invoice_number}} for {{amount}}, due {{due_date}}',
    html: '<p>Hi {{customer_name}},</p><p>Invoice <strong>{{invoice_number}}</strong> for {{amount}} is due on <strong>{{due_date}}</strong>.</p><p><a href="{{payment_update_link}}">Pay it online</a></p>',
    text: 'Hi {{customer_name}},\n\nInvoice {{invoice_number}} for {{amount}} is due on {{due_date}}.\n\nPay it online: {{payment_update_link}}',
  },
  {
    key: 'invoice_overdue',
    channel: 'email',
    description: 'Reminder 1, 7 and 14 days after an invoice’s due date.',
    essential: true,
    category: 'billing',
    subject: 'Reminder: invoice {{invoice_number}} ({{amount}}) is {{days_overdue}} days overdue',
    html: '<p>Hi {{customer_name}},</p><p>Invoice <strong>{{invoice_number}}</strong> for {{amount}} was due on {{due_date}} and is now {{days_overdue}} days overdue.</p><p><a href="{{payment_update_link}}">Pay it online</a></p>',
    text: 'Hi {{customer_name}},\n\nInvoice {{invoice_number}} for {{amount}} was due on {{due_date}} and is now {{days_overdue}} days overdue.\n\nPay it online: {{payment_update_link}}',
  },
];

export async function seedTemplates(q: Queryable, now: Date): Promise<{ created: number }> {
  let created = 0;
  for (const t of SEED_TEMPLATES) {
    const res = await q.query(
      `INSERT INTO notification_templates (id, key, locale, channel, description, essential, category, subject, html, text, required_lines, personalize, created, updated)
       VALUES ($1, $2, 'en', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) ON CONFLICT (key, locale, channel) DO NOTHING`,
      [newId('tmpl'), t.key, t.channel, t.description, t.essential, t.category, t.subject ?? null, t.html ?? null, t.text, JSON.stringify(t.required_lines ?? []), t.personalize ?? false, now],
    );
    created += res.rowCount;
  }
  return { created };
}
