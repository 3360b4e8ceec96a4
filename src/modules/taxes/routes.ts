import { z } from 'zod';
import { listObject } from '../../http/pagination.js';
import type { Router } from '../../http/router.js';
import { zExpand } from '../../http/schemas.js';
import { createTaxRate, createTaxRateBody, getTaxRateRow, listTaxRates, listTaxRatesQuery, serializeTaxRate, updateTaxRate, updateTaxRateBody } from './service.js';

const idParams = z.object({ id: z.string().min(1) });

export function taxRateRoutes(r: Router): void {
  r.route({
    method: 'POST',
    url: '/v1/tax_rates',
    summary: 'Create a tax rate (with effective_from: a new version replacing the open one of its jurisdiction from then)',
    tag: 'Tax rates',
    scope: 'write',
    body: createTaxRateBody,
    handler: ({ q, now, body }) => createTaxRate(q, now, body),
  });
  r.route({
    method: 'GET',
    url: '/v1/tax_rates/{id}',
    summary: 'Retrieve a tax rate',
    tag: 'Tax rates',
    scope: 'read',
    params: idParams,
    query: z.strictObject({ expand: zExpand() }),
    handler: async ({ q, params }) => serializeTaxRate(await getTaxRateRow(q, params.id)),
  });
  r.route({
    method: 'POST',
    url: '/v1/tax_rates/{id}',
    summary: 'Update a tax rate (active, names, metadata, effective_until; what it charges is immutable)',
    tag: 'Tax rates',
    scope: 'write',
    params: idParams,
    body: updateTaxRateBody,
    handler: ({ q, now, params, body }) => updateTaxRate(q, now, params.id, body),
  });
  r.route({
    method: 'GET',
    url: '/v1/tax_rates',
    summary: 'List tax rates',
    tag: 'Tax rates',
    scope: 'read',
    query: listTaxRatesQuery,
    handler: async ({ q, query }) => {
      const { data, hasMore } = await listTaxRates(q, { active: query.active, inclusive: query.inclusive, country: query.country, state: query.state, tax_type: query.tax_type }, query);
      return listObject('/v1/tax_rates', data, hasMore);
    },
  });
}
