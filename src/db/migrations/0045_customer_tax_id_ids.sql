-- Stripe's tax_id objects: each of a customer's tax ids gets its own id (txi_…) and creation time, so
-- it can be retrieved and deleted on its own (/v1/customers/{id}/tax_ids). Existing ones get an id
-- derived from their customer and position, and the customer's creation time.
UPDATE customers c
   SET tax_ids = (
     SELECT coalesce(jsonb_agg(t.v || jsonb_build_object('id', 'txi_' || substr(md5(c.id || ':' || t.n), 1, 22), 'created', floor(extract(epoch FROM c.created))::bigint) ORDER BY t.n), '[]'::jsonb)
       FROM jsonb_array_elements(c.tax_ids) WITH ORDINALITY AS t(v, n))
 WHERE jsonb_typeof(c.tax_ids) = 'array' AND jsonb_array_length(c.tax_ids) > 0;
