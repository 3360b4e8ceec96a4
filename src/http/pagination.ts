import { InvalidRequestError } from '../core/errors/index.js';
import type { Queryable } from '../db/index.js';
import { createdBounds, type CreatedFilter } from './schemas.js';

export interface ListParams {
  limit?: number;
  starting_after?: string;
  ending_before?: string;
  /** Stripe's `created` filter, of the lists whose query takes it (zCreatedFilter). */
  created?: CreatedFilter;
}

export interface ListResult<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
  url: string;
}

/**
 * Cursor pagination over sortable ids, newest first (Stripe's order). `where` is a SQL condition
 * using $1..$n for `params`; `equals` adds `column = value` for each value given (a list's filters;
 * undefined ones are left out); `created` adds the half-open bounds of a `created` filter (in Unix
 * seconds, from createdBounds; by default those of the list's own `created`), and `ranges` the same
 * bounds on other timestamp columns (`current_period_end`); the cursor conditions are appended after them.
 */
export async function paginate<R extends { id: string }>(
  q: Queryable,
  opts: {
    table: string;
    where?: string;
    params?: unknown[];
    equals?: Record<string, unknown>;
    created?: ReadonlyArray<readonly ['>=' | '<', number]>;
    ranges?: ReadonlyArray<readonly [column: string, bounds: ReadonlyArray<readonly ['>=' | '<', number]>]>;
    columns?: string;
  },
  list: ListParams,
): Promise<{ rows: R[]; hasMore: boolean }> {
  const limit = list.limit ?? 10;
  // Stripe refuses both cursors at once, and a cursor naming nothing (a typo would otherwise restart
  // a sync from the newest page without a word).
  if (list.starting_after !== undefined && list.ending_before !== undefined) {
    throw new InvalidRequestError('Received both starting_after and ending_before parameters. Please pass in only one.', 'ending_before', 'parameter_invalid');
  }
  const cursor = list.starting_after ?? list.ending_before;
  if (cursor !== undefined) {
    const found = await q.query(`SELECT 1 FROM ${opts.table} WHERE id = $1`, [cursor]);
    if (!found.rows[0]) throw new InvalidRequestError(`No such object: '${cursor}'`, list.starting_after !== undefined ? 'starting_after' : 'ending_before', 'resource_missing');
  }
  const params = [...(opts.params ?? [])];
  const conds = opts.where ? [`(${opts.where})`] : [];
  for (const [col, v] of Object.entries(opts.equals ?? {})) {
    if (v === undefined) continue;
    params.push(v);
    conds.push(`${col} = $${params.length}`);
  }
  for (const [column, bounds] of [['created', opts.created ?? createdBounds(list.created)] as const, ...(opts.ranges ?? [])]) {
    for (const [op, at] of bounds) {
      params.push(at);
      conds.push(`${column} ${op} to_timestamp($${params.length})`);
    }
  }
  let order = 'DESC';
  if (list.starting_after) {
    params.push(list.starting_after);
    conds.push(`id < $${params.length}`);
  } else if (list.ending_before) {
    params.push(list.ending_before);
    conds.push(`id > $${params.length}`);
    order = 'ASC';
  }
  params.push(limit + 1);
  const sql = `SELECT ${opts.columns ?? '*'} FROM ${opts.table} ${conds.length ? 'WHERE ' + conds.join(' AND ') : ''} ORDER BY id ${order} LIMIT $${params.length}`;
  const { rows } = await q.query<R>(sql, params);
  const hasMore = rows.length > limit;
  const page = rows.slice(0, limit);
  if (order === 'ASC') page.reverse();
  return { rows: page, hasMore };
}

export function listObject<T>(url: string, data: T[], hasMore: boolean): ListResult<T> {
  return { object: 'list', data, has_more: hasMore, url };
}

/**
 * A page of a list kept in its own order (an invoice's or a credit note's lines, not newest first):
 * the cursor walks positions. The same rules as paginate(): both cursors are a 400, and a cursor
 * naming no item of the list is a 400 resource_missing on the parameter sent.
 */
export function pageByPosition<T extends { id: string }>(items: readonly T[], list: ListParams): { rows: T[]; hasMore: boolean } {
  const limit = list.limit ?? 10;
  if (list.starting_after !== undefined && list.ending_before !== undefined) {
    throw new InvalidRequestError('Received both starting_after and ending_before parameters. Please pass in only one.', 'ending_before', 'parameter_invalid');
  }
  const after = list.starting_after !== undefined;
  const cursor = list.starting_after ?? list.ending_before;
  const at = cursor === undefined ? -1 : items.findIndex((l) => l.id === cursor);
  if (cursor !== undefined && at < 0) throw new InvalidRequestError(`No such object: '${cursor}'`, after ? 'starting_after' : 'ending_before', 'resource_missing');
  if (cursor === undefined) return { rows: items.slice(0, limit), hasMore: limit < items.length };
  if (after) return { rows: items.slice(at + 1, at + 1 + limit), hasMore: at + 1 + limit < items.length };
  const from = Math.max(0, at - limit);
  return { rows: items.slice(from, at), hasMore: from > 0 };
}

