-- +goose Up
-- Cards saved through Stripe. Only Stripe's ids and what the cards page
-- shows are kept; card numbers never reach Roster.
ALTER TABLE users ADD COLUMN stripe_customer_id TEXT;
CREATE UNIQUE INDEX users_stripe_customer ON users(stripe_customer_id) WHERE stripe_customer_id IS NOT NULL;

CREATE TABLE payment_methods (
    id                       INTEGER PRIMARY KEY,
    user_id                  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    stripe_payment_method_id TEXT    NOT NULL UNIQUE,
    brand                    TEXT    NOT NULL,
    last4                    TEXT    NOT NULL,
    exp_month                INTEGER NOT NULL CHECK (exp_month BETWEEN 1 AND 12),
    exp_year                 INTEGER NOT NULL,
    fingerprint              TEXT    NOT NULL,
    is_default               INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    created_at               INTEGER NOT NULL,
    UNIQUE (user_id, fingerprint)
) STRICT;
-- At most one default card per user.
CREATE UNIQUE INDEX payment_methods_one_default ON payment_methods(user_id) WHERE is_default = 1;

-- Finds the accounts a card pays for (delete refused, detach clears them).
CREATE INDEX accounts_billing ON accounts(billing_payment_method_id) WHERE billing_payment_method_id IS NOT NULL;

-- A card that goes, by whatever path (a user deleted with ON DELETE
-- CASCADE included), stops paying for every account.
-- +goose StatementBegin
CREATE TRIGGER payment_methods_clear_billing AFTER DELETE ON payment_methods
BEGIN
    UPDATE accounts SET billing_payment_method_id = NULL WHERE billing_payment_method_id = OLD.id;
END;
-- +goose StatementEnd

-- Stripe webhook events already processed: each id is inserted in the same
-- transaction as the change it made, so a replay changes nothing.
CREATE TABLE stripe_events (
    id          TEXT    PRIMARY KEY,
    type        TEXT    NOT NULL,
    received_at INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE stripe_events;
DROP TRIGGER payment_methods_clear_billing;
DROP INDEX accounts_billing;
DROP TABLE payment_methods;
DROP INDEX users_stripe_customer;
ALTER TABLE users DROP COLUMN stripe_customer_id;
