-- +goose NO TRANSACTION
-- +goose Up
-- Ids are never reused (issue 13). Without AUTOINCREMENT, SQLite hands
-- out max(id)+1, so deleting the newest SAML connection, account or user
-- gave its id to the next one, and with it whatever still named the id: a
-- login key "saml:<id>", an audit entry, a link. Every table whose integer
-- id ends up in another row, a URL or a login key is rebuilt with
-- AUTOINCREMENT, keeping its rows and their ids, columns, checks, indexes,
-- triggers and references; sqlite_sequence then starts each table above
-- every id of it that can still be seen anywhere (a login "saml:7" of a
-- connection deleted before this migration included).
--
-- Every email column also gets a CHECK that its value is in NormalEmail
-- form as far as SQLite's ASCII-only lower() can tell, so that no code
-- path can store a second spelling (00009 normalised the rows).
-- email_tokens and email_changes are rebuilt for that check only.
--
-- SQLite cannot alter a column or add a CHECK: each table is created anew,
-- filled, dropped and renamed, with foreign keys off (they would cascade
-- the drops), in one transaction that ends with PRAGMA foreign_key_check.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

-- References broken before the rebuild (rows deleted with foreign keys
-- off, say from the sqlite3 shell) are kept as they are, not counted
-- against it.
CREATE TEMP TABLE foreign_keys_before AS SELECT count(*) AS violations FROM pragma_foreign_key_check;

-- Triggers that name a rebuilt table go first, or renaming a new table
-- into place fails on them; they come back, unchanged, at the end.
DROP TRIGGER users_account_contact;
DROP TRIGGER payment_methods_clear_billing;
DROP TRIGGER memberships_owner_not_demoted;
DROP TRIGGER memberships_owner_not_removed;

CREATE TABLE users_new (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    email              TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    email_verified_at  INTEGER,
    name               TEXT    NOT NULL DEFAULT '',
    password_hash      TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    stripe_customer_id TEXT,
    CHECK (email = lower(trim(email)) COLLATE BINARY) -- NormalEmail, as far as SQLite can tell
) STRICT;
INSERT INTO users_new (id, email, email_verified_at, name, password_hash, created_at, updated_at, stripe_customer_id)
SELECT id, email, email_verified_at, name, password_hash, created_at, updated_at, stripe_customer_id FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
CREATE UNIQUE INDEX users_stripe_customer ON users(stripe_customer_id) WHERE stripe_customer_id IS NOT NULL;

CREATE TABLE sessions_new (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    id_hash      BLOB    NOT NULL UNIQUE,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    ip           TEXT    NOT NULL DEFAULT '',
    user_agent   TEXT    NOT NULL DEFAULT '',
    data         BLOB
) STRICT;
INSERT INTO sessions_new (id, id_hash, user_id, created_at, last_seen_at, expires_at, ip, user_agent, data)
SELECT id, id_hash, user_id, created_at, last_seen_at, expires_at, ip, user_agent, data FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expires ON sessions(expires_at);

CREATE TABLE audit_events_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER REFERENCES users(id) ON DELETE CASCADE,
    account_id  INTEGER,
    kind        TEXT    NOT NULL,
    detail_json TEXT    NOT NULL DEFAULT '{}',
    ip          TEXT    NOT NULL DEFAULT '',
    user_agent  TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
) STRICT;
INSERT INTO audit_events_new (id, user_id, account_id, kind, detail_json, ip, user_agent, created_at)
SELECT id, user_id, account_id, kind, detail_json, ip, user_agent, created_at FROM audit_events;
DROP TABLE audit_events;
ALTER TABLE audit_events_new RENAME TO audit_events;
CREATE INDEX audit_events_user ON audit_events(user_id, id);
CREATE INDEX audit_events_user_kind ON audit_events(user_id, kind, created_at);

CREATE TABLE accounts_new (
    id                        INTEGER PRIMARY KEY AUTOINCREMENT,
    name                      TEXT    NOT NULL,
    owner_id                  INTEGER NOT NULL REFERENCES users(id),
    created_at                INTEGER NOT NULL,
    billing_payment_method_id INTEGER
) STRICT;
INSERT INTO accounts_new (id, name, owner_id, created_at, billing_payment_method_id)
SELECT id, name, owner_id, created_at, billing_payment_method_id FROM accounts;
DROP TABLE accounts;
ALTER TABLE accounts_new RENAME TO accounts;
CREATE INDEX accounts_owner ON accounts(owner_id);
CREATE INDEX accounts_billing ON accounts(billing_payment_method_id) WHERE billing_payment_method_id IS NOT NULL;

CREATE TABLE invites_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    email      TEXT    NOT NULL COLLATE NOCASE,
    role       TEXT    NOT NULL CHECK (role IN ('admin', 'normal', 'readonly')),
    invited_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    token_hash BLOB    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    state      TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'accepted', 'ignored', 'revoked')),
    CHECK (email = lower(trim(email)) COLLATE BINARY) -- NormalEmail, as far as SQLite can tell
) STRICT;
INSERT INTO invites_new (id, account_id, email, role, invited_by, token_hash, created_at, expires_at, state)
SELECT id, account_id, email, role, invited_by, token_hash, created_at, expires_at, state FROM invites;
DROP TABLE invites;
ALTER TABLE invites_new RENAME TO invites;
CREATE UNIQUE INDEX invites_one_pending ON invites(account_id, email) WHERE state = 'pending';
CREATE INDEX invites_email ON invites(email, state);
CREATE INDEX invites_account_created ON invites(account_id, created_at);

CREATE TABLE identities_new (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id        INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    provider       TEXT    NOT NULL,
    subject        TEXT    NOT NULL,
    email          TEXT    NOT NULL DEFAULT '' COLLATE NOCASE,
    email_verified INTEGER NOT NULL DEFAULT 0,
    display_name   TEXT    NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL,
    last_used_at   INTEGER NOT NULL,
    UNIQUE (provider, subject),
    CHECK (email = lower(trim(email)) COLLATE BINARY) -- NormalEmail, as far as SQLite can tell
) STRICT;
INSERT INTO identities_new (id, user_id, provider, subject, email, email_verified, display_name, created_at, last_used_at)
SELECT id, user_id, provider, subject, email, email_verified, display_name, created_at, last_used_at FROM identities;
DROP TABLE identities;
ALTER TABLE identities_new RENAME TO identities;
CREATE INDEX identities_user ON identities(user_id);

CREATE TABLE saml_connections_new (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id          INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name                TEXT    NOT NULL,
    idp_metadata_xml    TEXT    NOT NULL,
    entity_id           TEXT    NOT NULL, -- the IdP's entity id, from its metadata
    email_domains       TEXT    NOT NULL DEFAULT '', -- comma-separated, lowercase
    default_role        TEXT    NOT NULL DEFAULT '' CHECK (default_role IN ('', 'normal', 'readonly')),
    allow_idp_initiated INTEGER NOT NULL DEFAULT 0,
    created_at          INTEGER NOT NULL
) STRICT;
INSERT INTO saml_connections_new (id, account_id, name, idp_metadata_xml, entity_id, email_domains, default_role, allow_idp_initiated, created_at)
SELECT id, account_id, name, idp_metadata_xml, entity_id, email_domains, default_role, allow_idp_initiated, created_at FROM saml_connections;
DROP TABLE saml_connections;
ALTER TABLE saml_connections_new RENAME TO saml_connections;
CREATE INDEX saml_connections_account ON saml_connections(account_id);

CREATE TABLE saml_requests_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    relay_state   TEXT    NOT NULL UNIQUE,
    connection_id INTEGER NOT NULL REFERENCES saml_connections(id) ON DELETE CASCADE,
    request_id    TEXT    NOT NULL, -- the AuthnRequest ID, for InResponseTo
    link_user_id  INTEGER REFERENCES users(id) ON DELETE CASCADE,
    next          TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    used_at       INTEGER
) STRICT;
INSERT INTO saml_requests_new (id, relay_state, connection_id, request_id, link_user_id, next, created_at, used_at)
SELECT id, relay_state, connection_id, request_id, link_user_id, next, created_at, used_at FROM saml_requests;
DROP TABLE saml_requests;
ALTER TABLE saml_requests_new RENAME TO saml_requests;
CREATE INDEX saml_requests_created ON saml_requests(created_at);

CREATE TABLE contact_methods_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
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
    CHECK (is_account = 0 OR kind = 'email'),
    CHECK (kind <> 'email' OR address = lower(trim(address)) COLLATE BINARY) -- NormalEmail, as far as SQLite can tell
) STRICT;
INSERT INTO contact_methods_new (id, user_id, kind, address, label, is_account, verified_at, secret, code_hash, code_expires_at, code_attempts, created_at)
SELECT id, user_id, kind, address, label, is_account, verified_at, secret, code_hash, code_expires_at, code_attempts, created_at FROM contact_methods;
DROP TABLE contact_methods;
ALTER TABLE contact_methods_new RENAME TO contact_methods;
CREATE UNIQUE INDEX contact_methods_address ON contact_methods(user_id, kind, address COLLATE NOCASE);
CREATE UNIQUE INDEX contact_methods_account ON contact_methods(user_id) WHERE is_account = 1;

CREATE TABLE outbox_new (
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
INSERT INTO outbox_new (id, user_id, contact_method_id, kind, address, circumstance, severity, subject, body, state, attempts, next_attempt_at, last_error, claimed_by, claimed_until, created_at, sent_at)
SELECT id, user_id, contact_method_id, kind, address, circumstance, severity, subject, body, state, attempts, next_attempt_at, last_error, claimed_by, claimed_until, created_at, sent_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE state = 'queued';
CREATE INDEX outbox_user ON outbox(user_id, id);

CREATE TABLE payment_methods_new (
    id                       INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO payment_methods_new (id, user_id, stripe_payment_method_id, brand, last4, exp_month, exp_year, fingerprint, is_default, created_at)
SELECT id, user_id, stripe_payment_method_id, brand, last4, exp_month, exp_year, fingerprint, is_default, created_at FROM payment_methods;
DROP TABLE payment_methods;
ALTER TABLE payment_methods_new RENAME TO payment_methods;
CREATE UNIQUE INDEX payment_methods_one_default ON payment_methods(user_id) WHERE is_default = 1;

CREATE TABLE email_tokens_new (
    token_hash BLOB    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose    TEXT    NOT NULL CHECK (purpose IN ('verify', 'reset')),
    email      TEXT    NOT NULL COLLATE NOCASE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    CHECK (email = lower(trim(email)) COLLATE BINARY) -- NormalEmail, as far as SQLite can tell
) STRICT;
INSERT INTO email_tokens_new (token_hash, user_id, purpose, email, created_at, expires_at, used_at)
SELECT token_hash, user_id, purpose, email, created_at, expires_at, used_at FROM email_tokens;
DROP TABLE email_tokens;
ALTER TABLE email_tokens_new RENAME TO email_tokens;
CREATE INDEX email_tokens_user ON email_tokens(user_id, purpose);

CREATE TABLE email_changes_new (
    user_id    INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    new_email  TEXT    NOT NULL COLLATE NOCASE,
    token_hash BLOB    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    CHECK (new_email = lower(trim(new_email)) COLLATE BINARY) -- NormalEmail, as far as SQLite can tell
) STRICT;
INSERT INTO email_changes_new (user_id, new_email, token_hash, created_at, expires_at)
SELECT user_id, new_email, token_hash, created_at, expires_at FROM email_changes;
DROP TABLE email_changes;
ALTER TABLE email_changes_new RENAME TO email_changes;

-- The account-email method follows the users row (00005).
-- +goose StatementBegin
CREATE TRIGGER users_account_contact AFTER UPDATE OF email, email_verified_at ON users
BEGIN
    UPDATE contact_methods SET address = NEW.email, verified_at = NEW.email_verified_at
    WHERE user_id = NEW.id AND is_account = 1;
END;
-- +goose StatementEnd

-- A card that goes stops paying for every account (00007).
-- +goose StatementBegin
CREATE TRIGGER payment_methods_clear_billing AFTER DELETE ON payment_methods
BEGIN
    UPDATE accounts SET billing_payment_method_id = NULL WHERE billing_payment_method_id = OLD.id;
END;
-- +goose StatementEnd

-- The owner stays an Admin member (00002).
-- +goose StatementBegin
CREATE TRIGGER memberships_owner_not_demoted BEFORE UPDATE OF role ON memberships
WHEN NEW.role <> 'admin' AND NEW.user_id = (SELECT owner_id FROM accounts WHERE id = NEW.account_id)
BEGIN
    SELECT RAISE(ABORT, 'roster: the owner must stay an admin');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER memberships_owner_not_removed BEFORE DELETE ON memberships
WHEN OLD.user_id = (SELECT owner_id FROM accounts WHERE id = OLD.account_id)
BEGIN
    SELECT RAISE(ABORT, 'roster: the owner cannot leave the account');
END;
-- +goose StatementEnd

-- Each sequence starts above every id of its table still in sight.
DELETE FROM sqlite_sequence WHERE name = 'users';
INSERT INTO sqlite_sequence (name, seq) SELECT 'users', coalesce(max(n), 0) FROM (
    SELECT max(id) AS n FROM users
    UNION ALL SELECT max(user_id) FROM audit_events
    UNION ALL SELECT max(CAST(json_extract(detail_json, '$.member') AS INTEGER)) FROM audit_events WHERE json_valid(detail_json)
    UNION ALL SELECT max(owner_id) FROM accounts
    UNION ALL SELECT max(invited_by) FROM invites
    UNION ALL SELECT max(user_id) FROM memberships
    UNION ALL SELECT max(user_id) FROM sessions
    UNION ALL SELECT max(user_id) FROM identities
    UNION ALL SELECT max(user_id) FROM contact_methods
    UNION ALL SELECT max(user_id) FROM notification_rules
    UNION ALL SELECT max(user_id) FROM outbox
    UNION ALL SELECT max(user_id) FROM payment_methods
    UNION ALL SELECT max(user_id) FROM preferences
    UNION ALL SELECT max(user_id) FROM email_tokens
    UNION ALL SELECT max(user_id) FROM email_changes
    UNION ALL SELECT max(link_user_id) FROM saml_requests
);

DELETE FROM sqlite_sequence WHERE name = 'sessions';
INSERT INTO sqlite_sequence (name, seq) SELECT 'sessions', coalesce(max(n), 0) FROM (
    SELECT max(id) AS n FROM sessions
);

DELETE FROM sqlite_sequence WHERE name = 'audit_events';
INSERT INTO sqlite_sequence (name, seq) SELECT 'audit_events', coalesce(max(n), 0) FROM (
    SELECT max(id) AS n FROM audit_events
);

DELETE FROM sqlite_sequence WHERE name = 'accounts';
INSERT INTO sqlite_sequence (name, seq) SELECT 'accounts', coalesce(max(n), 0) FROM (
    SELECT max(id) AS n FROM accounts
    UNION ALL SELECT max(account_id) FROM audit_events
    UNION ALL SELECT max(account_id) FROM memberships
    UNION ALL SELECT max(account_id) FROM invites
    UNION ALL SELECT max(account_id) FROM saml_connections
);

DELETE FROM sqlite_sequence WHERE name = 'invites';
INSERT INTO sqlite_sequence (name, seq) SELECT 'invites', coalesce(max(n), 0) FROM (
    SELECT max(id) AS n FROM invites
);

DELETE FROM sqlite_sequence WHERE name = 'identities';
INSERT INTO sqlite_sequence (name, seq) SELECT 'identities', coalesce(max(n), 0) FROM (
    SELECT max(id) AS n FROM identities
);

DELETE FROM sqlite_sequence WHERE name = 'saml_connections';
INSERT INTO sqlite_sequence (name, seq) SELECT 'saml_connections', coalesce(max(n), 0) FROM (
    SELECT max(id) AS n FROM saml_connections
    UNION ALL SELECT max(connection_id) FROM saml_domains
    UNION ALL SELECT max(connection_id) FROM saml_requests
    UNION ALL SELECT max(connection_id) FROM saml_assertions
    UNION ALL SELECT max(CAST(substr(provider, 6) AS INTEGER)) FROM identities WHERE provider LIKE 'saml:%'
);

DELETE FROM sqlite_sequence WHERE name = 'saml_requests';
INSERT INTO sqlite_sequence (name, seq) SELECT 'saml_requests', coalesce(max(n), 0) FROM (
    SELECT max(id) AS n FROM saml_requests
);

DELETE FROM sqlite_sequence WHERE name = 'contact_methods';
INSERT INTO sqlite_sequence (name, seq) SELECT 'contact_methods', coalesce(max(n), 0) FROM (
    SELECT max(id) AS n FROM contact_methods
    UNION ALL SELECT max(contact_method_id) FROM notification_rules
    UNION ALL SELECT max(contact_method_id) FROM outbox
);

DELETE FROM sqlite_sequence WHERE name = 'outbox';
INSERT INTO sqlite_sequence (name, seq) SELECT 'outbox', coalesce(max(n), 0) FROM (
    SELECT max(id) AS n FROM outbox
);

DELETE FROM sqlite_sequence WHERE name = 'payment_methods';
INSERT INTO sqlite_sequence (name, seq) SELECT 'payment_methods', coalesce(max(n), 0) FROM (
    SELECT max(id) AS n FROM payment_methods
    UNION ALL SELECT max(billing_payment_method_id) FROM accounts
);

-- The rebuilt tables must hold what their references say: one row of
-- PRAGMA foreign_key_check more than before fails this insert, and so the
-- migration, which rolls back.
CREATE TEMP TABLE foreign_keys_ok (violations INTEGER NOT NULL CHECK (violations = 0)) STRICT;
INSERT INTO foreign_keys_ok SELECT (SELECT count(*) FROM pragma_foreign_key_check) - violations FROM foreign_keys_before;
DROP TABLE foreign_keys_ok;
DROP TABLE foreign_keys_before;
COMMIT;
PRAGMA foreign_keys = ON;

-- +goose Down
-- The tables as 00008 left them: ids may be reused again, and nothing
-- checks the form of an address. Rows and ids stay.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

-- References broken before the rebuild (rows deleted with foreign keys
-- off, say from the sqlite3 shell) are kept as they are, not counted
-- against it.
CREATE TEMP TABLE foreign_keys_before AS SELECT count(*) AS violations FROM pragma_foreign_key_check;

-- Triggers that name a rebuilt table go first, or renaming a new table
-- into place fails on them; they come back, unchanged, at the end.
DROP TRIGGER users_account_contact;
DROP TRIGGER payment_methods_clear_billing;
DROP TRIGGER memberships_owner_not_demoted;
DROP TRIGGER memberships_owner_not_removed;

CREATE TABLE users_old (
    id                 INTEGER PRIMARY KEY,
    email              TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    email_verified_at  INTEGER,
    name               TEXT    NOT NULL DEFAULT '',
    password_hash      TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    stripe_customer_id TEXT
) STRICT;
INSERT INTO users_old (id, email, email_verified_at, name, password_hash, created_at, updated_at, stripe_customer_id)
SELECT id, email, email_verified_at, name, password_hash, created_at, updated_at, stripe_customer_id FROM users;
DROP TABLE users;
ALTER TABLE users_old RENAME TO users;
CREATE UNIQUE INDEX users_stripe_customer ON users(stripe_customer_id) WHERE stripe_customer_id IS NOT NULL;

CREATE TABLE sessions_old (
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
INSERT INTO sessions_old (id, id_hash, user_id, created_at, last_seen_at, expires_at, ip, user_agent, data)
SELECT id, id_hash, user_id, created_at, last_seen_at, expires_at, ip, user_agent, data FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_old RENAME TO sessions;
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expires ON sessions(expires_at);

CREATE TABLE audit_events_old (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER REFERENCES users(id) ON DELETE CASCADE,
    account_id  INTEGER,
    kind        TEXT    NOT NULL,
    detail_json TEXT    NOT NULL DEFAULT '{}',
    ip          TEXT    NOT NULL DEFAULT '',
    user_agent  TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
) STRICT;
INSERT INTO audit_events_old (id, user_id, account_id, kind, detail_json, ip, user_agent, created_at)
SELECT id, user_id, account_id, kind, detail_json, ip, user_agent, created_at FROM audit_events;
DROP TABLE audit_events;
ALTER TABLE audit_events_old RENAME TO audit_events;
CREATE INDEX audit_events_user ON audit_events(user_id, id);
CREATE INDEX audit_events_user_kind ON audit_events(user_id, kind, created_at);

CREATE TABLE accounts_old (
    id                        INTEGER PRIMARY KEY,
    name                      TEXT    NOT NULL,
    owner_id                  INTEGER NOT NULL REFERENCES users(id),
    created_at                INTEGER NOT NULL,
    billing_payment_method_id INTEGER
) STRICT;
INSERT INTO accounts_old (id, name, owner_id, created_at, billing_payment_method_id)
SELECT id, name, owner_id, created_at, billing_payment_method_id FROM accounts;
DROP TABLE accounts;
ALTER TABLE accounts_old RENAME TO accounts;
CREATE INDEX accounts_owner ON accounts(owner_id);
CREATE INDEX accounts_billing ON accounts(billing_payment_method_id) WHERE billing_payment_method_id IS NOT NULL;

CREATE TABLE invites_old (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    email      TEXT    NOT NULL COLLATE NOCASE,
    role       TEXT    NOT NULL CHECK (role IN ('admin', 'normal', 'readonly')),
    invited_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    token_hash BLOB    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    state      TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'accepted', 'ignored', 'revoked'))
) STRICT;
INSERT INTO invites_old (id, account_id, email, role, invited_by, token_hash, created_at, expires_at, state)
SELECT id, account_id, email, role, invited_by, token_hash, created_at, expires_at, state FROM invites;
DROP TABLE invites;
ALTER TABLE invites_old RENAME TO invites;
CREATE UNIQUE INDEX invites_one_pending ON invites(account_id, email) WHERE state = 'pending';
CREATE INDEX invites_email ON invites(email, state);
CREATE INDEX invites_account_created ON invites(account_id, created_at);

CREATE TABLE identities_old (
    id             INTEGER PRIMARY KEY,
    user_id        INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    provider       TEXT    NOT NULL,
    subject        TEXT    NOT NULL,
    email          TEXT    NOT NULL DEFAULT '' COLLATE NOCASE,
    email_verified INTEGER NOT NULL DEFAULT 0,
    display_name   TEXT    NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL,
    last_used_at   INTEGER NOT NULL,
    UNIQUE (provider, subject)
) STRICT;
INSERT INTO identities_old (id, user_id, provider, subject, email, email_verified, display_name, created_at, last_used_at)
SELECT id, user_id, provider, subject, email, email_verified, display_name, created_at, last_used_at FROM identities;
DROP TABLE identities;
ALTER TABLE identities_old RENAME TO identities;
CREATE INDEX identities_user ON identities(user_id);

CREATE TABLE saml_connections_old (
    id                  INTEGER PRIMARY KEY,
    account_id          INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name                TEXT    NOT NULL,
    idp_metadata_xml    TEXT    NOT NULL,
    entity_id           TEXT    NOT NULL, -- the IdP's entity id, from its metadata
    email_domains       TEXT    NOT NULL DEFAULT '', -- comma-separated, lowercase
    default_role        TEXT    NOT NULL DEFAULT '' CHECK (default_role IN ('', 'normal', 'readonly')),
    allow_idp_initiated INTEGER NOT NULL DEFAULT 0,
    created_at          INTEGER NOT NULL
) STRICT;
INSERT INTO saml_connections_old (id, account_id, name, idp_metadata_xml, entity_id, email_domains, default_role, allow_idp_initiated, created_at)
SELECT id, account_id, name, idp_metadata_xml, entity_id, email_domains, default_role, allow_idp_initiated, created_at FROM saml_connections;
DROP TABLE saml_connections;
ALTER TABLE saml_connections_old RENAME TO saml_connections;
CREATE INDEX saml_connections_account ON saml_connections(account_id);

CREATE TABLE saml_requests_old (
    id            INTEGER PRIMARY KEY,
    relay_state   TEXT    NOT NULL UNIQUE,
    connection_id INTEGER NOT NULL REFERENCES saml_connections(id) ON DELETE CASCADE,
    request_id    TEXT    NOT NULL, -- the AuthnRequest ID, for InResponseTo
    link_user_id  INTEGER REFERENCES users(id) ON DELETE CASCADE,
    next          TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    used_at       INTEGER
) STRICT;
INSERT INTO saml_requests_old (id, relay_state, connection_id, request_id, link_user_id, next, created_at, used_at)
SELECT id, relay_state, connection_id, request_id, link_user_id, next, created_at, used_at FROM saml_requests;
DROP TABLE saml_requests;
ALTER TABLE saml_requests_old RENAME TO saml_requests;
CREATE INDEX saml_requests_created ON saml_requests(created_at);

CREATE TABLE contact_methods_old (
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
INSERT INTO contact_methods_old (id, user_id, kind, address, label, is_account, verified_at, secret, code_hash, code_expires_at, code_attempts, created_at)
SELECT id, user_id, kind, address, label, is_account, verified_at, secret, code_hash, code_expires_at, code_attempts, created_at FROM contact_methods;
DROP TABLE contact_methods;
ALTER TABLE contact_methods_old RENAME TO contact_methods;
CREATE UNIQUE INDEX contact_methods_address ON contact_methods(user_id, kind, address COLLATE NOCASE);
CREATE UNIQUE INDEX contact_methods_account ON contact_methods(user_id) WHERE is_account = 1;

CREATE TABLE outbox_old (
    id                INTEGER PRIMARY KEY,
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
SELECT id, user_id, contact_method_id, kind, address, circumstance, severity, subject, body, state, attempts, next_attempt_at, last_error, claimed_by, claimed_until, created_at, sent_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_old RENAME TO outbox;
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE state = 'queued';
CREATE INDEX outbox_user ON outbox(user_id, id);

CREATE TABLE payment_methods_old (
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
INSERT INTO payment_methods_old (id, user_id, stripe_payment_method_id, brand, last4, exp_month, exp_year, fingerprint, is_default, created_at)
SELECT id, user_id, stripe_payment_method_id, brand, last4, exp_month, exp_year, fingerprint, is_default, created_at FROM payment_methods;
DROP TABLE payment_methods;
ALTER TABLE payment_methods_old RENAME TO payment_methods;
CREATE UNIQUE INDEX payment_methods_one_default ON payment_methods(user_id) WHERE is_default = 1;

CREATE TABLE email_tokens_old (
    token_hash BLOB    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose    TEXT    NOT NULL CHECK (purpose IN ('verify', 'reset')),
    email      TEXT    NOT NULL COLLATE NOCASE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;
INSERT INTO email_tokens_old (token_hash, user_id, purpose, email, created_at, expires_at, used_at)
SELECT token_hash, user_id, purpose, email, created_at, expires_at, used_at FROM email_tokens;
DROP TABLE email_tokens;
ALTER TABLE email_tokens_old RENAME TO email_tokens;
CREATE INDEX email_tokens_user ON email_tokens(user_id, purpose);

CREATE TABLE email_changes_old (
    user_id    INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    new_email  TEXT    NOT NULL COLLATE NOCASE,
    token_hash BLOB    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
INSERT INTO email_changes_old (user_id, new_email, token_hash, created_at, expires_at)
SELECT user_id, new_email, token_hash, created_at, expires_at FROM email_changes;
DROP TABLE email_changes;
ALTER TABLE email_changes_old RENAME TO email_changes;

-- The account-email method follows the users row (00005).
-- +goose StatementBegin
CREATE TRIGGER users_account_contact AFTER UPDATE OF email, email_verified_at ON users
BEGIN
    UPDATE contact_methods SET address = NEW.email, verified_at = NEW.email_verified_at
    WHERE user_id = NEW.id AND is_account = 1;
END;
-- +goose StatementEnd

-- A card that goes stops paying for every account (00007).
-- +goose StatementBegin
CREATE TRIGGER payment_methods_clear_billing AFTER DELETE ON payment_methods
BEGIN
    UPDATE accounts SET billing_payment_method_id = NULL WHERE billing_payment_method_id = OLD.id;
END;
-- +goose StatementEnd

-- The owner stays an Admin member (00002).
-- +goose StatementBegin
CREATE TRIGGER memberships_owner_not_demoted BEFORE UPDATE OF role ON memberships
WHEN NEW.role <> 'admin' AND NEW.user_id = (SELECT owner_id FROM accounts WHERE id = NEW.account_id)
BEGIN
    SELECT RAISE(ABORT, 'roster: the owner must stay an admin');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER memberships_owner_not_removed BEFORE DELETE ON memberships
WHEN OLD.user_id = (SELECT owner_id FROM accounts WHERE id = OLD.account_id)
BEGIN
    SELECT RAISE(ABORT, 'roster: the owner cannot leave the account');
END;
-- +goose StatementEnd

-- The rebuilt tables must hold what their references say: one row of
-- PRAGMA foreign_key_check more than before fails this insert, and so the
-- migration, which rolls back.
CREATE TEMP TABLE foreign_keys_ok (violations INTEGER NOT NULL CHECK (violations = 0)) STRICT;
INSERT INTO foreign_keys_ok SELECT (SELECT count(*) FROM pragma_foreign_key_check) - violations FROM foreign_keys_before;
DROP TABLE foreign_keys_ok;
DROP TABLE foreign_keys_before;
COMMIT;
PRAGMA foreign_keys = ON;
