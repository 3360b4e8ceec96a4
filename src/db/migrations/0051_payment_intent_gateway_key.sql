-- The idempotency key a payment intent's charge was sent to its gateway with, when it is not the intent's
-- own idempotency_key. A renewal charged in the transaction that creates its invoice (ADR 0008) sends a key
-- made of the subscription and the period, which a rerun of that renewal makes again (a new invoice id would
-- not): a charge whose transaction was lost is then answered by the gateway's idempotency, not made twice.
-- A retry of the attempt (a gateway fault left it processing) must send the same key.
ALTER TABLE payment_intents ADD COLUMN gateway_key text;
