import { z } from 'zod';
import { InvalidRequestError, NotFoundError } from '../../core/errors/index.js';
import { listObject, pageByPosition } from '../../http/pagination.js';
import type { Router } from '../../http/router.js';
import { listQuery, zExpand, zMetadata } from '../../http/schemas.js';
import { effectiveNow } from '../subscriptions/service.js';
import {
  changeBalance,
  createBalanceTransactionBody,
  getBalanceTransaction,
  listBalanceTransactions,
  serializeBalanceTransaction,
  updateBalanceTransaction,
  updateBalanceTransactionBody,
} from './balance.js';
import {
  createCreditNote,
  createCreditNoteBody,
  creditNoteObject,
  getCreditNoteRow,
  listCreditNotes,
  listCreditNotesQuery,
  previewCreditNote,
  previewCreditNoteQuery,
  updateCreditNote,
  voidCreditNote,
} from './service.js';

const idParams = z.object({ id: z.string().min(1) });
const expandOnly = z.strictObject({ expand: zExpand() });

export function creditNoteRoutes(r: Router): void {
  r.route({
    method: 'POST',
    url: '/v1/credit_notes',
    summary: 'Issue a credit note for a finalized invoice (lines, part of a line, or an amount); settled as refund, balance credit or out of band',
    tag: 'Credit notes',
    scope: 'write',
    body: createCreditNoteBody,
    handler: ({ q, deps, now, body, req, auth }) => {
      const header = req.headers['idempotency-key'];
      return createCreditNote(q, deps, now, body, { idempotencyKey: typeof header === 'string' && auth ? `cn:${auth.keyId}:${header}` : undefined });
    },
  });
  r.route({
    method: 'GET',
    url: '/v1/credit_notes/preview',
    summary: 'Preview a credit note (writes nothing)',
    tag: 'Credit notes',
    scope: 'read',
    query: previewCreditNoteQuery,
    handler: ({ q, query }) => previewCreditNote(q, query),
  });
  r.route({
    method: 'GET',
    url: '/v1/credit_notes/{id}',
    summary: 'Retrieve a credit note',
    tag: 'Credit notes',
    scope: 'read',
    params: idParams,
    query: expandOnly,
    handler: async ({ q, params }) => creditNoteObject(q, await getCreditNoteRow(q, params.id)),
  });
  r.route({
    method: 'GET',
    url: '/v1/credit_notes/{id}/lines',
    summary: "List a credit note's lines",
    tag: 'Credit notes',
    scope: 'read',
    params: idParams,
    query: z.strictObject({ ...listQuery }),
    handler: async ({ q, params, query }) => {
      const cn = await creditNoteObject(q, await getCreditNoteRow(q, params.id));
      const page = pageByPosition(cn.lines.data, query);
      return listObject(`/v1/credit_notes/${params.id}/lines`, page.rows, page.hasMore);
    },
  });
  r.route({
    method: 'POST',
    url: '/v1/credit_notes/{id}',
    summary: "Update a credit note's memo or metadata",
    tag: 'Credit notes',
    scope: 'write',
    params: idParams,
    body: z.strictObject({ memo: z.string().max(1000).optional(), metadata: zMetadata().optional(), expand: zExpand() }),
    handler: ({ q, now, params, body }) => updateCreditNote(q, now, params.id, body),
  });
  r.route({
    method: 'POST',
    url: '/v1/credit_notes/{id}/void',
    summary: 'Void a credit note (it keeps its number; its effect on the invoice and balance is undone)',
    tag: 'Credit notes',
    scope: 'write',
    params: idParams,
    body: expandOnly,
    handler: ({ q, now, params }) => voidCreditNote(q, now, params.id),
  });
  r.route({
    method: 'GET',
    url: '/v1/credit_notes',
    summary: 'List credit notes',
    tag: 'Credit notes',
    scope: 'read',
    query: listCreditNotesQuery,
    handler: async ({ q, query }) => {
      const { data, hasMore } = await listCreditNotes(q, { invoice: query.invoice, customer: query.customer }, query);
      return listObject('/v1/credit_notes', data, hasMore);
    },
  });

  // ---- customer balance transactions ----
  r.route({
    method: 'GET',
    url: '/v1/customers/{id}/balance_transactions',
    summary: "List a customer's balance transactions (proration credits, credit notes, invoices, manual adjustments)",
    tag: 'Customers',
    scope: 'read',
    params: idParams,
    query: z.strictObject({ ...listQuery }),
    handler: async ({ q, params, query }) => {
      await customerExists(q, params.id);
      const { data, hasMore } = await listBalanceTransactions(q, params.id, query);
      return listObject(`/v1/customers/${params.id}/balance_transactions`, data, hasMore);
    },
  });
  r.route({
    method: 'GET',
    url: '/v1/customers/{id}/balance_transactions/{transaction}',
    summary: 'Retrieve a customer balance transaction',
    tag: 'Customers',
    scope: 'read',
    params: z.object({ id: z.string().min(1), transaction: z.string().min(1) }),
    query: expandOnly,
    handler: ({ q, params }) => getBalanceTransaction(q, params.id, params.transaction),
  });
  r.route({
    method: 'POST',
    url: '/v1/customers/{id}/balance_transactions/{transaction}',
    summary: "Update a customer balance transaction's description or metadata (its amount never changes)",
    tag: 'Customers',
    scope: 'write',
    params: z.object({ id: z.string().min(1), transaction: z.string().min(1) }),
    body: updateBalanceTransactionBody,
    handler: async ({ q, params, body }) => {
      await customerExists(q, params.id);
      return updateBalanceTransaction(q, params.id, params.transaction, body);
    },
  });
  r.route({
    method: 'POST',
    url: '/v1/customers/{id}/balance_transactions',
    summary: "Adjust a customer's balance by hand, with a reason (negative = credit the customer)",
    tag: 'Customers',
    scope: 'write',
    params: idParams,
    body: createBalanceTransactionBody,
    handler: async ({ q, now, params, body }) => {
      const clock = await customerExists(q, params.id);
      if (!body.description) {
        throw new InvalidRequestError('A manual adjustment needs a reason: pass description.', 'description', 'parameter_missing');
      }
      const tx = await changeBalance(q, await effectiveNow(q, clock, now), {
        customer: params.id,
        amount: body.amount,
        currency: body.currency,
        type: 'adjustment',
        description: body.description,
        metadata: body.metadata,
      });
      return serializeBalanceTransaction(tx);
    },
  });
}

async function customerExists(q: Parameters<typeof getCreditNoteRow>[0], id: string): Promise<string | null> {
  const { rows } = await q.query<{ test_clock: string | null }>(`SELECT test_clock FROM customers WHERE id = $1 AND deleted_at IS NULL`, [id]);
  if (!rows[0]) throw new NotFoundError('customer', id);
  return rows[0].test_clock;
}
