-- A payment method's billing_details always has Stripe's full shape (address with six fields, email,
-- name, phone; unknown ones null), which the fraud rules and the router read without guards. The
-- column's old default '{}' broke that for rows written by bulk loaders; the default now has the shape
-- and existing rows are completed.
ALTER TABLE payment_methods ALTER COLUMN billing_details SET DEFAULT
  '{"address": {"city": null, "country": null, "line1": null, "line2": null, "postal_code": null, "state": null}, "email": null, "name": null, "phone": null}';

UPDATE payment_methods
   SET billing_details = jsonb_build_object(
         'address', jsonb_build_object('city', null, 'country', null, 'line1', null, 'line2', null, 'postal_code', null, 'state', null)
                    || coalesce(billing_details->'address', '{}'),
         'email', null, 'name', null, 'phone', null)
       || (billing_details - 'address')
 WHERE NOT (billing_details ? 'address') OR NOT (billing_details ? 'email') OR NOT (billing_details ? 'name') OR NOT (billing_details ? 'phone');
