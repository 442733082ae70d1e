-- +goose Up
-- A session remembers the external login that opened it, so that removing
-- the login with its connection can sign it out. No REFERENCES clause (a
-- column with one cannot be dropped again); the trigger below stands in for
-- ON DELETE SET NULL: the X on a login keeps the sessions it opened.
ALTER TABLE sessions ADD COLUMN identity_id INTEGER;
CREATE INDEX sessions_identity ON sessions(identity_id) WHERE identity_id IS NOT NULL;
-- +goose StatementBegin
CREATE TRIGGER identities_forget_sessions AFTER DELETE ON identities BEGIN
    UPDATE sessions SET identity_id = NULL WHERE identity_id = OLD.id;
END;
-- +goose StatementEnd

-- Deleting a connection, by its Admin or with its account (ON DELETE
-- CASCADE fires this too), deletes the logins made through it and signs
-- out the sessions they opened, in the same transaction: a login keyed
-- saml:<id> must never outlive the connection whose id it names.
-- +goose StatementBegin
CREATE TRIGGER saml_connections_drop_logins AFTER DELETE ON saml_connections BEGIN
    DELETE FROM sessions WHERE identity_id IN (SELECT id FROM identities WHERE provider = 'saml:' || OLD.id);
    DELETE FROM identities WHERE provider = 'saml:' || OLD.id;
END;
-- +goose StatementEnd

-- Logins of connections deleted before this migration.
DELETE FROM identities WHERE provider LIKE 'saml:%'
    AND NOT EXISTS (SELECT 1 FROM saml_connections c WHERE identities.provider = 'saml:' || c.id);

-- An SP-initiated sign-in is bound to the browser that started it: the
-- SHA-256 of the random value of its roster_saml cookie. Rows in flight
-- from before have none, and are refused (they expire in minutes).
ALTER TABLE saml_requests ADD COLUMN browser_hash BLOB;

-- IdP-initiated responses, validated and waiting for the person to confirm
-- the sign-in with a POST from the same browser: found by the SHA-256 of a
-- random token, used once, refused after a few minutes.
CREATE TABLE saml_held (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash     BLOB    NOT NULL UNIQUE,
    browser_hash   BLOB    NOT NULL,
    connection_id  INTEGER NOT NULL REFERENCES saml_connections(id) ON DELETE CASCADE,
    subject        TEXT    NOT NULL,
    email          TEXT    NOT NULL,
    display_name   TEXT    NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL,
    CHECK (email = lower(trim(email)) COLLATE BINARY) -- the one normal form of emails
) STRICT;
CREATE INDEX saml_held_created ON saml_held(created_at);

-- +goose Down
DROP TABLE saml_held;
ALTER TABLE saml_requests DROP COLUMN browser_hash;
DROP TRIGGER saml_connections_drop_logins;
DROP TRIGGER identities_forget_sessions;
DROP INDEX sessions_identity;
ALTER TABLE sessions DROP COLUMN identity_id;
