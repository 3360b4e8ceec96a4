import type { Router } from '../../http/router.js';
import { SEARCH_RESOURCES } from './resources.js';
import { searchQuery } from './schemas.js';
import { search } from './service.js';

export function searchRoutes(r: Router): void {
  for (const resource of SEARCH_RESOURCES) {
    r.route({
      method: 'GET',
      url: `/v1/${resource.name}/search`,
      summary: `Search ${resource.name.replace('_', ' ')} with Stripe's search query language`,
      tag: resource.tag,
      scope: 'read',
      query: searchQuery,
      handler: ({ q, query, now }) =>
        // `expand[]=total_count` asks for the count of all matches (the router then finds it in place).
        search(q, resource, { query: query.query, limit: query.limit, page: query.page, totalCount: query.expand?.includes('total_count'), now }),
    });
  }
}
