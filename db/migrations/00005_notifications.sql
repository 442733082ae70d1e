-- +goose Up
-- How a user can be reached. The account email is one of them (is_account),
-- mirrored from users by the trigger below, so routing and delivery read one
-- table. A method is used only once verified_at is set; code_* hold the
-- pending verification code (its hash), spent or locked after 5 tries.
CREATE TABLE contact_methods (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL CHECK (kind IN ('email', 'sms', 'voice', 'slack', 'webhook')),
    address         TEXT    NOT NULL,
    label           TEXT    NOT NULL DEFAULT '',
    is_account      INTEGER NOT NULL DEFAULT 0 CHECK (is_account IN (0, 1)),
    verified_at     INTEGER,
    secret          TEXT    NOT NULL DEFAULT '', -- webhook signing key
    code_hash       BLOB,
    code_expires_at INTEGER NOT NULL DEFAULT 0,
    code_attempts   INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    CHECK (is_account = 0 OR kind = 'email')
) STRICT;
CREATE UNIQUE INDEX contact_methods_address ON contact_methods(user_id, kind, address COLLATE NOCASE);
CREATE UNIQUE INDEX contact_methods_account ON contact_methods(user_id) WHERE is_account = 1;

-- Which methods get which circumstance; alerts per severity 1-5, the
-- others with severity 0.
CREATE TABLE notification_rules (
    user_id           INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    circumstance      TEXT    NOT NULL CHECK (circumstance IN ('alerts', 'account', 'billing', 'security')),
    severity          INTEGER NOT NULL DEFAULT 0,
    contact_method_id INTEGER NOT NULL REFERENCES contact_methods(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, circumstance, severity, contact_method_id),
    CHECK ((circumstance = 'alerts' AND severity BETWEEN 1 AND 5) OR (circumstance <> 'alerts' AND severity = 0))
) STRICT;
CREATE INDEX notification_rules_method ON notification_rules(contact_method_id);

-- Every notification, written in the transaction of its cause and delivered
-- by the workers. kind and address are copied so that a later edit cannot
-- redirect a queued message. A worker owns a row while claimed_until is in
-- the future (a lease, so several processes never send one row at once).
CREATE TABLE outbox (
    id                INTEGER PRIMARY KEY,
    user_id           INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    contact_method_id INTEGER REFERENCES contact_methods(id) ON DELETE SET NULL,
    kind              TEXT    NOT NULL CHECK (kind IN ('email', 'sms', 'voice', 'slack', 'webhook')),
    address           TEXT    NOT NULL,
    circumstance      TEXT    NOT NULL CHECK (circumstance IN ('alerts', 'account', 'billing', 'security', 'test', 'verify')),
    severity          INTEGER NOT NULL DEFAULT 0,
    subject           TEXT    NOT NULL,
    body              TEXT    NOT NULL,
    state             TEXT    NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'failed')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   INTEGER NOT NULL,
    last_error        TEXT    NOT NULL DEFAULT '',
    claimed_by        TEXT    NOT NULL DEFAULT '',
    claimed_until     INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    sent_at           INTEGER
) STRICT;
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE state = 'queued';
CREATE INDEX outbox_user ON outbox(user_id, id);

-- A requested change of the account email, until the new address is
-- confirmed from the link sent to it. One pending change per user.
CREATE TABLE email_changes (
    user_id    INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    new_email  TEXT    NOT NULL COLLATE NOCASE,
    token_hash BLOB    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

-- Backfill: every user gets the account email as a method, and the default
-- rules send everything to it.
INSERT INTO contact_methods (user_id, kind, address, label, is_account, verified_at, created_at)
SELECT id, 'email', email, 'Account email', 1, email_verified_at, created_at FROM users;
INSERT INTO notification_rules (user_id, circumstance, severity, contact_method_id)
SELECT cm.user_id, d.circumstance, d.severity, cm.id FROM contact_methods cm,
    (SELECT 'alerts' AS circumstance, 1 AS severity UNION ALL SELECT 'alerts', 2 UNION ALL SELECT 'alerts', 3
     UNION ALL SELECT 'alerts', 4 UNION ALL SELECT 'alerts', 5 UNION ALL SELECT 'account', 0
     UNION ALL SELECT 'billing', 0 UNION ALL SELECT 'security', 0) d
WHERE cm.is_account = 1;

-- The account-email method follows the users row, whatever code path
-- changes the address or confirms it.
-- +goose StatementBegin
CREATE TRIGGER users_account_contact AFTER UPDATE OF email, email_verified_at ON users
BEGIN
    UPDATE contact_methods SET address = NEW.email, verified_at = NEW.email_verified_at
    WHERE user_id = NEW.id AND is_account = 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER users_account_contact;
DROP TABLE email_changes;
DROP TABLE outbox;
DROP TABLE notification_rules;
DROP TABLE contact_methods;
