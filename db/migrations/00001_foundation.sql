-- +goose Up
CREATE TABLE users (
    id                INTEGER PRIMARY KEY,
    email             TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    email_verified_at INTEGER,
    name              TEXT    NOT NULL DEFAULT '',
    password_hash     TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT;

-- id is a public handle for the revoke buttons; the cookie value itself is
-- only ever stored as its SHA-256 in id_hash.
CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY,
    id_hash      BLOB    NOT NULL UNIQUE,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    ip           TEXT    NOT NULL DEFAULT '',
    user_agent   TEXT    NOT NULL DEFAULT '',
    data         BLOB
) STRICT;
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expires ON sessions(expires_at);

CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER REFERENCES users(id) ON DELETE CASCADE,
    account_id  INTEGER,
    kind        TEXT    NOT NULL,
    detail_json TEXT    NOT NULL DEFAULT '{}',
    ip          TEXT    NOT NULL DEFAULT '',
    user_agent  TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX audit_events_user ON audit_events(user_id, id);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- Single-use links sent by email: address verification and password reset.
CREATE TABLE email_tokens (
    token_hash BLOB    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose    TEXT    NOT NULL CHECK (purpose IN ('verify', 'reset')),
    email      TEXT    NOT NULL COLLATE NOCASE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;
CREATE INDEX email_tokens_user ON email_tokens(user_id, purpose);

-- Failed sign-ins, keyed by "email:<address>" and "ip:<address>", counted
-- over a sliding window. In the database rather than in memory so several
-- processes share one count.
CREATE TABLE login_failures (
    key        TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX login_failures_key ON login_failures(key, created_at);

-- +goose Down
DROP TABLE login_failures;
DROP TABLE email_tokens;
DROP TABLE settings;
DROP TABLE audit_events;
DROP TABLE sessions;
DROP TABLE users;
