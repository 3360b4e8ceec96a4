import { formatMoney } from '../../core/money/index.js';
import { fromUnix } from '../../core/time/index.js';
import type { Queryable } from '../../db/index.js';
import type { CreditNoteLineRow, CreditNoteRow } from '../credit-notes/service.js';
import type { InvoiceRow, LineRow } from '../invoices/repository.js';
import type { CustomerDetails } from '../taxes/context.js';
import type { TaxAmount } from '../taxes/domain/types.js';
import { hasBankDetails, type DocumentsConfig } from './config.js';

// What an invoice or credit note document says, as plain strings: the PDF and the hosted page both
// render this model, so they never disagree. Everything comes from the stored invoice (amounts,
// the tax snapshot, the buyer as at finalisation) — a rate or address changed later does not
// change a document already issued. Dates are UTC; amounts are formatted with the currency's
// exponent (¥1,100, KWD 30.500).

export interface DocLine {
  description: string;
  period: string | null;
  quantity: string;
  unitAmount: string;
  tax: string;
  amount: string;
}

export interface DocTotal {
  label: string;
  value: string;
  strong?: boolean;
}

export interface DocumentModel {
  kind: 'invoice' | 'credit_note';
  title: string;
  number: string;
  currency: string;
  /** For PDF metadata: the finalisation (or issue) instant, so the same document renders the same bytes. */
  issuedAt: Date;
  meta: [string, string][];
  seller: { name: string; lines: string[] };
  buyer: { title: string; lines: string[] };
  /** The customer's shipping details as snapshotted at finalisation (invoices only); null without them. */
  shipTo: { title: string; lines: string[] } | null;
  lines: DocLine[];
  totals: DocTotal[];
  taxBreakdown: { label: string; taxable: string; amount: string }[];
  notes: string[];
  status: string;
  payment: { lines: string[] } | null;
  hostedUrl: string | null;
  logoPath: string | null;
}

export const money = (amount: number, currency: string) => formatMoney({ amount: Number(amount), currency }).replace(/\u00a0/g, ' ');

const DATE = new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', year: 'numeric', month: 'short', day: 'numeric' });
export const day = (d: Date) => DATE.format(d);

const percent = (p: number) => `${p}%`;

function taxLabel(t: TaxAmount): string {
  const where = t.jurisdiction ? ` (${t.jurisdiction})` : '';
  const why = t.taxability_reason === 'reverse_charge' ? ' — reverse charge' : t.taxability_reason === 'customer_exempt' ? ' — exempt' : '';
  return `${t.display_name} ${percent(t.percentage)}${t.inclusive ? ' incl.' : ''}${where}${why}`;
}

function sellerBlock(cfg: DocumentsConfig): DocumentModel['seller'] {
  return {
    name: cfg.sellerName,
    lines: [...cfg.sellerAddress, ...(cfg.sellerTaxId ? [`Tax ID: ${cfg.sellerTaxId}`] : []), ...(cfg.sellerEmail ? [cfg.sellerEmail] : [])],
  };
}

const TAX_ID_LABELS: Record<string, string> = { eu_vat: 'VAT', gb_vat: 'VAT', ch_vat: 'VAT', no_vat: 'VAT', au_abn: 'ABN', nz_gst: 'GST', ca_gst_hst: 'GST/HST', us_ein: 'EIN' };

function addressLines(a: Record<string, string | null> | null): string[] {
  if (!a) return [];
  const cityLine = [a.postal_code, a.city, a.state].filter(Boolean).join(' ');
  return [a.line1, a.line2, cityLine, a.country].filter((x): x is string => !!x);
}

function buyerBlock(c: CustomerDetails | null, fallbackName: string): DocumentModel['buyer'] {
  return {
    title: c?.name ?? c?.email ?? fallbackName,
    lines: [
      ...(c?.name && c.email ? [c.email] : []),
      ...addressLines(c?.address ?? null),
      ...(c?.tax_ids ?? []).map((t) => `${TAX_ID_LABELS[t.type] ?? 'Tax ID'}: ${t.value}`),
    ],
  };
}

/** The invoice's own shipping_details (Stripe), else the customer's shipping details. */
function shipToBlock(own: InvoiceRow['shipping_details'] | undefined, c: CustomerDetails | null): DocumentModel['shipTo'] {
  const s = own ?? c?.shipping;
  if (!s) return null;
  return { title: s.name, lines: [...addressLines(s.address), ...(s.phone ? [s.phone] : [])] };
}

function noteFor(reason: string | null | undefined, note: string | null | undefined): string[] {
  if (reason === 'reverse_charge' || note === 'Reverse charge') {
    return ['Reverse charge: the customer accounts for the VAT/GST on this supply (EU: Article 196 of Directive 2006/112/EC).'];
  }
  if (reason === 'customer_exempt' || note === 'Exempt') return ['Exempt: no tax is charged to this customer (tax-exempt status on file).'];
  if (note) return [note];
  return [];
}

function periodOf(l: { period_start: Date; period_end: Date }): string | null {
  const s = new Date(l.period_start);
  const e = new Date(l.period_end);
  return s.getTime() === e.getTime() ? null : `${day(s)} – ${day(e)}`;
}

function lineTax(taxes: readonly TaxAmount[]): string {
  return taxes.length ? taxes.map((t) => percent(t.percentage)).join(' + ') : '—';
}

export function invoiceModel(inv: InvoiceRow, lines: LineRow[], cfg: DocumentsConfig): DocumentModel {
  const cur = inv.currency;
  const m = (a: number) => money(a, cur);
  const st = inv.status_transitions;
  // Stripe: an effective_at set by hand replaces the date of issue on the PDF.
  const issuedAt = inv.effective_at ? new Date(inv.effective_at) : st.finalized_at ? fromUnix(st.finalized_at) : new Date(inv.created);
  const taxes = inv.total_tax_amounts ?? [];
  const applied = inv.ending_balance === null ? 0 : Number(inv.starting_balance) - Number(inv.ending_balance);
  const totals: DocTotal[] = [{ label: 'Subtotal', value: m(inv.subtotal) }];
  if (Number(inv.total_discount) !== 0) totals.push({ label: 'Discount', value: m(-Number(inv.total_discount)) });
  for (const t of taxes) totals.push({ label: taxLabel(t), value: m(t.amount) });
  totals.push({ label: 'Total', value: m(inv.total), strong: true });
  if (applied !== 0) totals.push({ label: applied < 0 ? 'Applied customer credit' : 'Previous balance', value: m(applied) });
  if (Number(inv.pre_payment_credit_notes_amount)) totals.push({ label: 'Credit notes', value: m(-Number(inv.pre_payment_credit_notes_amount)) });
  if (Number(inv.amount_paid)) totals.push({ label: 'Amount paid', value: m(-Number(inv.amount_paid)) });
  totals.push({ label: 'Amount due', value: m(inv.status === 'void' ? 0 : inv.amount_remaining), strong: true });
  if (Number(inv.post_payment_credit_notes_amount)) totals.push({ label: 'Credited after payment', value: m(Number(inv.post_payment_credit_notes_amount)) });

  const status =
    inv.status === 'paid'
      ? `Paid${st.paid_at ? ` on ${day(fromUnix(st.paid_at))}` : ''}${inv.paid_out_of_band ? ' (out of band)' : ''}${inv.payment_reference ? ` — reference ${inv.payment_reference}` : ''}`
      : inv.status === 'void'
        ? 'Void'
        : inv.status === 'uncollectible'
          ? 'Uncollectible'
          : inv.status === 'draft'
            ? 'Draft'
            : `${inv.overdue_at ? 'Overdue — ' : ''}${m(inv.amount_remaining)} due${inv.due_date ? ` by ${day(new Date(inv.due_date))}` : ''}`;

  const open = inv.status === 'open';
  const payment =
    open && inv.collection_method === 'send_invoice' && hasBankDetails(cfg.bank)
      ? {
          lines: [
            'Pay by bank transfer to:',
            ...(cfg.bank.accountName ? [`Account holder: ${cfg.bank.accountName}`] : []),
            ...(cfg.bank.bankName ? [`Bank: ${cfg.bank.bankName}`] : []),
            ...(cfg.bank.iban ? [`IBAN: ${cfg.bank.iban}`] : []),
            ...(cfg.bank.bic ? [`BIC: ${cfg.bank.bic}`] : []),
            ...(cfg.bank.achRouting ? [`ACH routing number: ${cfg.bank.achRouting}`] : []),
            ...(cfg.bank.achAccount ? [`Account number: ${cfg.bank.achAccount}`] : []),
            `Payment reference: ${inv.number ?? inv.id}`,
          ],
        }
      : null;

  const meta: [string, string][] = [
    ['Invoice number', inv.number ?? 'Draft'],
    ['Date of issue', day(issuedAt)],
  ];
  if (inv.due_date) meta.push(['Date due', day(new Date(inv.due_date))]);
  if (new Date(inv.period_start).getTime() !== new Date(inv.period_end).getTime()) meta.push(['Service period', `${day(new Date(inv.period_start))} – ${day(new Date(inv.period_end))}`]);
  // Stripe prints the custom fields (a purchase order number…) with the invoice's own details.
  for (const f of inv.custom_fields ?? []) meta.push([f.name, f.value]);

  return {
    kind: 'invoice',
    title: 'Invoice',
    number: inv.number ?? inv.id,
    currency: cur,
    issuedAt,
    meta,
    seller: sellerBlock(cfg),
    buyer: buyerBlock(inv.customer_details ?? null, inv.customer),
    shipTo: shipToBlock(inv.shipping_details, inv.customer_details ?? null),
    lines: lines.map((l) => ({
      description: l.description ?? '',
      period: periodOf(l),
      quantity: String(l.quantity),
      unitAmount: l.unit_amount === null ? '' : m(Number(l.unit_amount)),
      tax: lineTax(l.tax_amounts ?? []),
      amount: m(l.amount),
    })),
    totals,
    taxBreakdown: taxes.map((t) => ({ label: taxLabel(t), taxable: m(t.taxable_amount), amount: m(t.amount) })),
    // The footer last, at the foot of the document.
    notes: [...noteFor(inv.tax_context?.decision.reason, inv.tax_context?.decision.note), ...(inv.description ? [inv.description] : []), ...(inv.footer ? [inv.footer] : [])],
    status,
    payment,
    hostedUrl: open ? inv.hosted_invoice_url : null,
    logoPath: cfg.logoPath,
  };
}

export function creditNoteModel(cn: CreditNoteRow, lines: CreditNoteLineRow[], inv: InvoiceRow, cfg: DocumentsConfig): DocumentModel {
  const cur = cn.currency;
  const m = (a: number) => money(a, cur);
  const totals: DocTotal[] = [{ label: 'Subtotal', value: m(cn.subtotal) }];
  if (Number(cn.discount_amount)) totals.push({ label: 'Discount', value: m(-Number(cn.discount_amount)) });
  for (const t of cn.tax_amounts) totals.push({ label: taxLabel(t), value: m(t.amount) });
  totals.push({ label: 'Total credited', value: m(cn.total), strong: true });
  const settlement: string[] = [];
  if (cn.type === 'pre_payment') settlement.push(`Deducted from the amount due on invoice ${inv.number}.`);
  if (Number(cn.refund_amount)) settlement.push(`Refunded to the original payment method: ${m(cn.refund_amount)}`);
  if (Number(cn.credit_amount)) settlement.push(`Credited to your account balance: ${m(cn.credit_amount)}`);
  if (Number(cn.out_of_band_amount)) settlement.push(`Settled outside this system: ${m(cn.out_of_band_amount)}`);
  const issuedAt = new Date(cn.effective_at);
  return {
    kind: 'credit_note',
    title: 'Credit note',
    number: cn.number,
    currency: cur,
    issuedAt,
    meta: [
      ['Credit note number', cn.number],
      ['Date of issue', day(issuedAt)],
      ['Original invoice', inv.number ?? inv.id],
      ...(cn.reason ? ([['Reason', cn.reason.replace(/_/g, ' ')]] as [string, string][]) : []),
    ],
    seller: sellerBlock(cfg),
    buyer: buyerBlock(inv.customer_details ?? null, inv.customer),
    shipTo: null,
    lines: lines.map((l) => ({
      description: l.description ?? '',
      period: null,
      quantity: l.quantity === null ? '' : String(l.quantity),
      unitAmount: l.unit_amount === null ? '' : m(Number(l.unit_amount)),
      tax: lineTax(l.tax_amounts),
      amount: m(l.amount),
    })),
    totals,
    taxBreakdown: cn.tax_amounts.map((t) => ({ label: taxLabel(t), taxable: m(t.taxable_amount), amount: m(t.amount) })),
    notes: [...noteFor(inv.tax_context?.decision.reason, inv.tax_context?.decision.note), ...(cn.memo ? [cn.memo] : [])],
    status: cn.status === 'void' ? 'Void' : settlement.join(' '),
    payment: null,
    hostedUrl: null,
    logoPath: cfg.logoPath,
  };
}

/** Loads what a credit note document needs. */
export async function loadCreditNoteDocument(q: Queryable, cn: CreditNoteRow, cfg: DocumentsConfig): Promise<DocumentModel> {
  const { rows } = await q.query<CreditNoteLineRow>(`SELECT * FROM credit_note_lines WHERE credit_note = $1 ORDER BY position`, [cn.id]);
  const inv = (await q.query<InvoiceRow>(`SELECT * FROM invoices WHERE id = $1`, [cn.invoice])).rows[0]!;
  return creditNoteModel(cn, rows, inv, cfg);
}
