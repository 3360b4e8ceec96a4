import type { Queryable } from '../../db/index.js';
import type { Compiled } from './domain/compile.js';
import type { SearchResource } from './resources.js';

/** The resource's own condition (deleted rows out) and the query's. */
const matching = (resource: SearchResource, match: Compiled) => [...(resource.base ? [resource.base] : []), `(${match.where})`];

/** The matching rows after the cursor `afterId` (ids below it), newest first, at most `limit`. */
export async function searchRows(q: Queryable, resource: SearchResource, match: Compiled, afterId: string | null, limit: number): Promise<{ id: string }[]> {
  const params = [...match.params];
  const conds = matching(resource, match);
  if (afterId !== null) {
    params.push(afterId);
    conds.push(`id < $${params.length}`);
  }
  params.push(limit);
  const { rows } = await q.query<{ id: string }>(`SELECT * FROM ${resource.table} WHERE ${conds.join(' AND ')} ORDER BY id DESC LIMIT $${params.length}`, params);
  return rows;
}

export async function countMatches(q: Queryable, resource: SearchResource, match: Compiled): Promise<number> {
  const { rows } = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${resource.table} WHERE ${matching(resource, match).join(' AND ')}`, match.params);
  return rows[0]!.n;
}
