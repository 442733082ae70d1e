-- +goose Up
-- Passkeys (issue 18, db/passkeys.go). Each person who has ever begun to
-- add one gets a random user handle, the WebAuthn user.id their
-- authenticators keep: not the email, not users.id, so a passkey tells
-- nothing about who it belongs to.
CREATE TABLE passkey_users (
    user_id    INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    handle     BLOB    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
) STRICT;

-- One row per passkey, under the relying-party id (the host of
-- ROSTER_BASE_URL) it was made for. credential is the library's
-- credential record as JSON (public key, flags, signature counter), written
-- back after every sign-in with it.
CREATE TABLE passkeys (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    rp_id         TEXT    NOT NULL,
    credential_id BLOB    NOT NULL,
    name          TEXT    NOT NULL,
    credential    TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    UNIQUE (rp_id, credential_id)
) STRICT;
CREATE INDEX passkeys_user ON passkeys (user_id, rp_id);

-- A ceremony (adding a passkey, signing in with one, checking one for a
-- known user) between its begin and its finish: found by the SHA-256 of
-- the random value of the browser's roster_passkey cookie, deleted when
-- it is finished (used once), refused after PasskeyCeremonyTTL.
CREATE TABLE passkey_ceremonies (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash BLOB    NOT NULL UNIQUE,
    purpose    TEXT    NOT NULL CHECK (purpose = 'register' OR purpose = 'login' OR purpose = 'verify'),
    user_id    INTEGER REFERENCES users(id) ON DELETE CASCADE,
    session    TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX passkey_ceremonies_created ON passkey_ceremonies (created_at);

-- +goose Down
DROP TABLE passkey_ceremonies;
DROP TABLE passkeys;
DROP TABLE passkey_users;
