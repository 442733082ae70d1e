-- +goose Up
-- Every mail goes through the outbox (issue 16): sign-up confirmations,
-- password resets and invites too. An invite may go to someone without a
-- profile, so user_id may be NULL. A mail a person waits for (a link or a
-- code) has priority 1 and is claimed before notifications. A mail that
-- carries a link names its token's hash and how long the link works once
-- delivered (token_ttl, seconds), and holds body_kept, the body with the
-- link replaced by a note, which takes the body's place once the row is
-- sent or given up: the outbox keeps no usable link after that.
--
-- A column cannot become nullable in SQLite: the table is rebuilt with its
-- rows and indexes, as in 00008; nothing references it. Its AUTOINCREMENT
-- counter is carried over so no id is handed out again.
CREATE TABLE outbox_new (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id           INTEGER REFERENCES users(id) ON DELETE CASCADE,
    contact_method_id INTEGER REFERENCES contact_methods(id) ON DELETE SET NULL,
    kind              TEXT    NOT NULL CHECK (kind = 'email' OR kind = 'sms' OR kind = 'voice' OR kind = 'slack' OR kind = 'webhook'),
    address           TEXT    NOT NULL,
    circumstance      TEXT    NOT NULL CHECK (circumstance = 'alerts' OR circumstance = 'account' OR circumstance = 'billing'
                                              OR circumstance = 'security' OR circumstance = 'test' OR circumstance = 'verify'),
    severity          INTEGER NOT NULL DEFAULT 0,
    subject           TEXT    NOT NULL,
    body              TEXT    NOT NULL,
    state             TEXT    NOT NULL DEFAULT 'queued' CHECK (state = 'queued' OR state = 'sent' OR state = 'failed'),
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   INTEGER NOT NULL,
    last_error        TEXT    NOT NULL DEFAULT '',
    claimed_by        TEXT    NOT NULL DEFAULT '',
    claimed_until     INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    sent_at           INTEGER,
    priority          INTEGER NOT NULL DEFAULT 0 CHECK (priority = 0 OR priority = 1),
    token_hash        BLOB,
    token_ttl         INTEGER NOT NULL DEFAULT 0,
    body_kept         TEXT    NOT NULL DEFAULT ''
) STRICT;
INSERT INTO outbox_new (id, user_id, contact_method_id, kind, address, circumstance, severity, subject, body, state, attempts, next_attempt_at, last_error, claimed_by, claimed_until, created_at, sent_at)
SELECT id, user_id, contact_method_id, kind, address, circumstance, severity, subject, body, state, attempts, next_attempt_at, last_error, claimed_by, claimed_until, created_at, sent_at FROM outbox;
DELETE FROM sqlite_sequence WHERE name = 'outbox_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'outbox_new', seq FROM sqlite_sequence WHERE name = 'outbox';
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE state = 'queued';
CREATE INDEX outbox_user ON outbox(user_id, id);
CREATE INDEX outbox_token ON outbox(token_hash) WHERE token_hash IS NOT NULL;

-- A link's clock starts when its mail is delivered: the row marked sent
-- gives the token sent_at + token_ttl, in the transaction that marks it.
-- +goose StatementBegin
CREATE TRIGGER outbox_link_sent AFTER UPDATE OF state ON outbox
WHEN OLD.state = 'queued' AND NEW.state = 'sent' AND NEW.token_hash IS NOT NULL
BEGIN
    UPDATE email_tokens SET expires_at = NEW.sent_at + NEW.token_ttl WHERE token_hash = NEW.token_hash AND used_at IS NULL;
    UPDATE invites SET expires_at = NEW.sent_at + NEW.token_ttl WHERE token_hash = NEW.token_hash AND state = 'pending';
    UPDATE email_changes SET expires_at = NEW.sent_at + NEW.token_ttl WHERE token_hash = NEW.token_hash;
END;
-- +goose StatementEnd

-- Once sent or given up, the stored body loses its link.
-- +goose StatementBegin
CREATE TRIGGER outbox_link_scrubbed AFTER UPDATE OF state ON outbox
WHEN OLD.state = 'queued' AND NEW.state <> 'queued' AND NEW.body_kept <> ''
BEGIN
    UPDATE outbox SET body = NEW.body_kept, body_kept = '' WHERE id = NEW.id;
END;
-- +goose StatementEnd

-- +goose Down
-- Mails without a profile (invites) cannot stay in the older table; queued
-- links lose their scrubbing.
CREATE TABLE outbox_old (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id           INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    contact_method_id INTEGER REFERENCES contact_methods(id) ON DELETE SET NULL,
    kind              TEXT    NOT NULL CHECK (kind = 'email' OR kind = 'sms' OR kind = 'voice' OR kind = 'slack' OR kind = 'webhook'),
    address           TEXT    NOT NULL,
    circumstance      TEXT    NOT NULL CHECK (circumstance = 'alerts' OR circumstance = 'account' OR circumstance = 'billing'
                                              OR circumstance = 'security' OR circumstance = 'test' OR circumstance = 'verify'),
    severity          INTEGER NOT NULL DEFAULT 0,
    subject           TEXT    NOT NULL,
    body              TEXT    NOT NULL,
    state             TEXT    NOT NULL DEFAULT 'queued' CHECK (state = 'queued' OR state = 'sent' OR state = 'failed'),
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   INTEGER NOT NULL,
    last_error        TEXT    NOT NULL DEFAULT '',
    claimed_by        TEXT    NOT NULL DEFAULT '',
    claimed_until     INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    sent_at           INTEGER
) STRICT;
INSERT INTO outbox_old (id, user_id, contact_method_id, kind, address, circumstance, severity, subject, body, state, attempts, next_attempt_at, last_error, claimed_by, claimed_until, created_at, sent_at)
SELECT id, user_id, contact_method_id, kind, address, circumstance, severity, subject, body, state, attempts, next_attempt_at, last_error, claimed_by, claimed_until, created_at, sent_at FROM outbox
WHERE user_id IS NOT NULL;
DELETE FROM sqlite_sequence WHERE name = 'outbox_old';
INSERT INTO sqlite_sequence (name, seq) SELECT 'outbox_old', seq FROM sqlite_sequence WHERE name = 'outbox';
DROP TABLE outbox;
ALTER TABLE outbox_old RENAME TO outbox;
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE state = 'queued';
CREATE INDEX outbox_user ON outbox(user_id, id);
