-- +goose Up
-- Two-factor authentication (issue 18 items 1, 2 and 4; db/twofactor.go).
-- totp_secrets holds a person's authenticator-app secret, sealed with a
-- key derived from the cookie secret (handlers/twofactor.go): it is on once
-- confirmed_at is set, and while it is NULL the person is still enrolling.
-- last_step is the RFC 6238 time step of the last code accepted: a code of
-- that step or an earlier one is refused, so each code works once.
CREATE TABLE totp_secrets (
    user_id      INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret       BLOB    NOT NULL,
    confirmed_at INTEGER,
    last_step    INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL
) STRICT;

-- Recovery codes: the SHA-256 of each (they are random, 50 bits each), used
-- once; regenerating deletes every old one.
CREATE TABLE recovery_codes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  BLOB    NOT NULL,
    used_at    INTEGER,
    created_at INTEGER NOT NULL,
    UNIQUE (user_id, code_hash)
) STRICT;

-- A sign-in waiting for its second factor: bound to the browser whose
-- cookie hashes to token_hash, for ten minutes. It is not a session.
-- identity_id is the external login of an SSO sign-in (0 for a password),
-- method names the first factor for the audit log, logged says whether
-- the first factor's sign-in was already written to the audit log (SSO).
CREATE TABLE pending_signins (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash  BLOB    NOT NULL UNIQUE,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    identity_id INTEGER NOT NULL DEFAULT 0,
    method      TEXT    NOT NULL,
    logged      INTEGER NOT NULL DEFAULT 0,
    next        TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX pending_signins_user ON pending_signins (user_id);

-- +goose Down
DROP TABLE pending_signins;
DROP TABLE recovery_codes;
DROP TABLE totp_secrets;
