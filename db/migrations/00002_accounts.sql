-- +goose Up
CREATE TABLE accounts (
    id                        INTEGER PRIMARY KEY,
    name                      TEXT    NOT NULL,
    owner_id                  INTEGER NOT NULL REFERENCES users(id),
    created_at                INTEGER NOT NULL,
    billing_payment_method_id INTEGER
) STRICT;
CREATE INDEX accounts_owner ON accounts(owner_id);

CREATE TABLE memberships (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role       TEXT    NOT NULL CHECK (role IN ('admin', 'normal', 'readonly')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, user_id)
) STRICT;
CREATE INDEX memberships_user ON memberships(user_id);

CREATE TABLE invites (
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
-- At most one pending invite per (account, email), enforced by the database.
CREATE UNIQUE INDEX invites_one_pending ON invites(account_id, email) WHERE state = 'pending';
CREATE INDEX invites_email ON invites(email, state);
CREATE INDEX invites_account_created ON invites(account_id, created_at);

-- The owner is always an Admin member: refuse any write that would break it,
-- whatever code path tries.
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

-- +goose Down
DROP TRIGGER memberships_owner_not_removed;
DROP TRIGGER memberships_owner_not_demoted;
DROP TABLE invites;
DROP TABLE memberships;
DROP TABLE accounts;
