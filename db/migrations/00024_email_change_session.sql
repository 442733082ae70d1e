-- +goose Up
-- A pending change of the account email belongs to the session that asked
-- for it (review 3, finding 2): whatever ends that session (logging it
-- out, "Log out other sessions", a password change or reset, the expiry
-- sweep, deleting the profile) ends the change too, by ON DELETE CASCADE,
-- with no list of paths to keep in step. cancel_hash is the hash of the
-- link mailed to the old address, which cancels the change without a
-- session. Changes pending from before name no session: they go, with
-- their mail still waiting to be sent (their links would no longer work).
-- The trigger of 00016 that names the table goes while it is rebuilt.
DROP TRIGGER outbox_link_sent;
DELETE FROM outbox WHERE state = 'queued' AND token_hash IN (SELECT token_hash FROM email_changes);
CREATE TABLE email_changes_new (
    user_id     INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    new_email   TEXT    NOT NULL COLLATE NOCASE,
    token_hash  BLOB    NOT NULL UNIQUE,
    cancel_hash BLOB    UNIQUE,
    session_id  INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    CHECK (new_email = lower(trim(new_email)) COLLATE BINARY) -- NormalEmail, as far as SQLite can tell
) STRICT;
DROP TABLE email_changes;
ALTER TABLE email_changes_new RENAME TO email_changes;
CREATE INDEX email_changes_session ON email_changes(session_id);
-- +goose StatementBegin
CREATE TRIGGER outbox_link_sent AFTER UPDATE OF state ON outbox
WHEN OLD.state = 'queued' AND NEW.state = 'sent' AND NEW.token_hash IS NOT NULL
BEGIN
    UPDATE email_tokens SET expires_at = NEW.sent_at + NEW.token_ttl WHERE token_hash = NEW.token_hash AND used_at IS NULL;
    UPDATE invites SET expires_at = NEW.sent_at + NEW.token_ttl WHERE token_hash = NEW.token_hash AND state = 'pending';
    UPDATE email_changes SET expires_at = NEW.sent_at + NEW.token_ttl WHERE token_hash = NEW.token_hash;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER outbox_link_sent;
CREATE TABLE email_changes_old (
    user_id    INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    new_email  TEXT    NOT NULL COLLATE NOCASE,
    token_hash BLOB    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    CHECK (new_email = lower(trim(new_email)) COLLATE BINARY)
) STRICT;
INSERT INTO email_changes_old (user_id, new_email, token_hash, created_at, expires_at)
SELECT user_id, new_email, token_hash, created_at, expires_at FROM email_changes;
DROP TABLE email_changes;
ALTER TABLE email_changes_old RENAME TO email_changes;
-- +goose StatementBegin
CREATE TRIGGER outbox_link_sent AFTER UPDATE OF state ON outbox
WHEN OLD.state = 'queued' AND NEW.state = 'sent' AND NEW.token_hash IS NOT NULL
BEGIN
    UPDATE email_tokens SET expires_at = NEW.sent_at + NEW.token_ttl WHERE token_hash = NEW.token_hash AND used_at IS NULL;
    UPDATE invites SET expires_at = NEW.sent_at + NEW.token_ttl WHERE token_hash = NEW.token_hash AND state = 'pending';
    UPDATE email_changes SET expires_at = NEW.sent_at + NEW.token_ttl WHERE token_hash = NEW.token_hash;
END;
-- +goose StatementEnd
