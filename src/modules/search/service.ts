import { InvalidRequestError } from '../../core/errors/index.js';
import type { Queryable } from '../../db/index.js';
import { compileQuery } from './domain/compile.js';
import { parseQuery, QuerySyntaxError } from './domain/query.js';
import { countMatches, searchRows } from './repository.js';
import type { SearchResource } from './resources.js';

// GET /v1/<resource>/search: the query's rows, newest first (ids sort by creation, as lists do), a page
// at a time. `next_page` is an opaque cursor — the last id of the page, encoded — that the next request
// passes as `page`. Unlike Stripe's search index, which lags writes by up to a minute, this reads the
// tables themselves, so a search sees what was just written.

export interface SearchParams {
  query: string;
  limit?: number;
  page?: string;
  totalCount?: boolean;
  /** The request's time: objects that show something in force (a customer's discount) show it as of then. */
  now: Date;
}

export interface SearchResult {
  object: 'search_result';
  data: unknown[];
  has_more: boolean;
  next_page: string | null;
  url: string;
  total_count?: number;
}

const PAGE_PREFIX = 'page_';

export function encodePage(lastId: string): string {
  return PAGE_PREFIX + Buffer.from(lastId, 'utf8').toString('base64url');
}

function decodePage(page: string): string {
  const id = page.startsWith(PAGE_PREFIX) ? Buffer.from(page.slice(PAGE_PREFIX.length), 'base64url').toString('utf8') : '';
  if (!/^[a-z]+_[A-Za-z0-9]+$/.test(id)) throw new InvalidRequestError(`Invalid page: '${page}'. Pass the next_page of a previous search result.`, 'page');
  return id;
}

function compile(resource: SearchResource, query: string) {
  try {
    return compileQuery(parseQuery(query), resource.fields, resource.name);
  } catch (err) {
    if (err instanceof QuerySyntaxError) throw new InvalidRequestError(`Invalid search query: ${err.message}`, 'query');
    throw err;
  }
}

export async function search(q: Queryable, resource: SearchResource, params: SearchParams): Promise<SearchResult> {
  const limit = params.limit ?? 10;
  const match = compile(resource, params.query);
  const rows = await searchRows(q, resource, match, params.page === undefined ? null : decodePage(params.page), limit + 1);
  const page = rows.slice(0, limit);
  const hasMore = rows.length > limit;
  return {
    object: 'search_result',
    data: await resource.objects(q, page, params.now),
    has_more: hasMore,
    next_page: hasMore ? encodePage(page[page.length - 1]!.id) : null,
    url: `/v1/${resource.name}/search`,
    ...(params.totalCount ? { total_count: await countMatches(q, resource, match) } : {}),
  };
}
