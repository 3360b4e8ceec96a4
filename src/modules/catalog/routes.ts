import { z } from 'zod';
import { InvalidRequestError } from '../../core/errors/index.js';
import { listObject } from '../../http/pagination.js';
import type { Router } from '../../http/router.js';
import { zDeleted, zList } from '../../http/schemas.js';
import {
  createPriceBody,
  createProductBody,
  expandQuery,
  expandedPriceObject,
  expandedProductObject,
  listPricesQuery,
  listProductsQuery,
  updatePriceBody,
  updateProductBody,
} from './schemas.js';
import {
  PRICE_EXPANDABLE,
  PRODUCT_EXPANDABLE,
  createPrice,
  createProduct,
  deleteProduct,
  expandPrices,
  expandProducts,
  listPrices,
  listProducts,
  resolveExpand,
  retrievePrice,
  retrieveProduct,
  updatePrice,
  updateProduct,
} from './service.js';

const idParams = z.object({ id: z.string().min(1) });

export function catalogRoutes(r: Router): void {
  // ---------- products ----------
  r.route({
    method: 'POST',
    url: '/v1/products',
    summary: 'Create a product',
    tag: 'Catalog',
    scope: 'write',
    body: createProductBody,
    response: expandedProductObject,
    handler: async ({ q, now, body }) => {
      const expand = resolveExpand(body.expand, PRODUCT_EXPANDABLE);
      const [product] = await expandProducts(q, [await createProduct(q, now, body)], expand);
      return product;
    },
  });
  r.route({
    method: 'GET',
    url: '/v1/products/{id}',
    summary: 'Retrieve a product',
    tag: 'Catalog',
    scope: 'read',
    params: idParams,
    query: expandQuery,
    response: expandedProductObject.or(zDeleted('product')),
    handler: async ({ q, params, query }) => {
      const expand = resolveExpand(query.expand, PRODUCT_EXPANDABLE);
      const product = await retrieveProduct(q, params.id);
      if ('deleted' in product) return product;
      return (await expandProducts(q, [product], expand))[0];
    },
  });
  r.route({
    method: 'POST',
    url: '/v1/products/{id}',
    summary: 'Update a product',
    tag: 'Catalog',
    scope: 'write',
    params: idParams,
    body: updateProductBody,
    response: expandedProductObject,
    handler: async ({ q, now, params, body }) => {
      const expand = resolveExpand(body.expand, PRODUCT_EXPANDABLE);
      return (await expandProducts(q, [await updateProduct(q, now, params.id, body)], expand))[0];
    },
  });
  r.route({
    method: 'DELETE',
    url: '/v1/products/{id}',
    summary: 'Delete a product that has no prices (archive it otherwise)',
    tag: 'Catalog',
    scope: 'write',
    params: idParams,
    response: zDeleted('product'),
    handler: ({ q, now, params }) => deleteProduct(q, now, params.id),
  });
  r.route({
    method: 'GET',
    url: '/v1/products',
    summary: 'List products',
    tag: 'Catalog',
    scope: 'read',
    query: listProductsQuery,
    response: zList(expandedProductObject),
    handler: async ({ q, query }) => {
      const expand = resolveExpand(query.expand, PRODUCT_EXPANDABLE, { list: true });
      const { data, hasMore } = await listProducts(q, { active: query.active, ids: query.ids }, query);
      return listObject('/v1/products', await expandProducts(q, data, expand), hasMore);
    },
  });

  // ---------- prices ----------
  r.route({
    method: 'POST',
    url: '/v1/prices',
    summary: 'Create a price',
    tag: 'Catalog',
    scope: 'write',
    body: createPriceBody,
    response: expandedPriceObject,
    handler: async ({ q, now, body }) => {
      const expand = resolveExpand(body.expand, PRICE_EXPANDABLE);
      const { product_data, product, ...price } = body;
      if (product_data && product !== undefined) throw new InvalidRequestError('Pass either product or product_data, not both.', 'product_data', 'parameter_invalid');
      if (!product_data && product === undefined) throw new InvalidRequestError('Missing required param: product (or product_data).', 'product', 'parameter_missing');
      // product_data: the product is created first, in the same transaction (a bad price undoes it).
      const productId = product ?? (await createProduct(q, now, product_data!)).id;
      return (await expandPrices(q, [await createPrice(q, now, { ...price, product: productId })], expand))[0];
    },
  });
  r.route({
    method: 'GET',
    url: '/v1/prices/{id}',
    summary: 'Retrieve a price',
    tag: 'Catalog',
    scope: 'read',
    params: idParams,
    query: expandQuery,
    response: expandedPriceObject,
    handler: async ({ q, params, query }) => {
      const expand = resolveExpand(query.expand, PRICE_EXPANDABLE);
      return (await expandPrices(q, [await retrievePrice(q, params.id)], expand))[0];
    },
  });
  r.route({
    method: 'POST',
    url: '/v1/prices/{id}',
    summary: "Update a price (amount, currency, type and interval are fixed: create a new price to change them)",
    tag: 'Catalog',
    scope: 'write',
    params: idParams,
    body: updatePriceBody,
    response: expandedPriceObject,
    handler: async ({ q, now, params, body }) => {
      const expand = resolveExpand(body.expand, PRICE_EXPANDABLE);
      return (await expandPrices(q, [await updatePrice(q, now, params.id, body)], expand))[0];
    },
  });
  r.route({
    method: 'GET',
    url: '/v1/prices',
    summary: 'List prices',
    tag: 'Catalog',
    scope: 'read',
    query: listPricesQuery,
    response: zList(expandedPriceObject),
    handler: async ({ q, query }) => {
      const expand = resolveExpand(query.expand, PRICE_EXPANDABLE, { list: true });
      const { data, hasMore } = await listPrices(
        q,
        {
          active: query.active,
          product: query.product,
          currency: query.currency,
          type: query.type,
          customer: query.customer,
          lookup_keys: query.lookup_keys,
          interval: query.recurring?.interval,
          usage_type: query.recurring?.usage_type,
        },
        query,
      );
      return listObject('/v1/prices', await expandPrices(q, data, expand), hasMore);
    },
  });
}
