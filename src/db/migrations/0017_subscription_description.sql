-- Subscription.description (Stripe: "meant to be displayable to the customer"), set on create and update.
ALTER TABLE subscriptions ADD COLUMN description text;
