-- +goose Up
-- SAML 2.0 connections: one identity provider per row, owned by an account.
CREATE TABLE saml_connections (
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
CREATE INDEX saml_connections_account ON saml_connections(account_id);

-- Domains an operator has verified for a connection (roster saml
-- verify-domain): only emails there count as verified. A domain is verified
-- for at most one connection.
CREATE TABLE saml_domains (
    connection_id INTEGER NOT NULL REFERENCES saml_connections(id) ON DELETE CASCADE,
    domain        TEXT    NOT NULL COLLATE NOCASE UNIQUE,
    verified_at   INTEGER NOT NULL,
    PRIMARY KEY (connection_id, domain)
) STRICT;

-- SP-initiated sign-ins in flight, found again by RelayState: the ACS POST
-- comes from the IdP's page, so no cookie can be relied on.
CREATE TABLE saml_requests (
    id            INTEGER PRIMARY KEY,
    relay_state   TEXT    NOT NULL UNIQUE,
    connection_id INTEGER NOT NULL REFERENCES saml_connections(id) ON DELETE CASCADE,
    request_id    TEXT    NOT NULL, -- the AuthnRequest ID, for InResponseTo
    link_user_id  INTEGER REFERENCES users(id) ON DELETE CASCADE,
    next          TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    used_at       INTEGER
) STRICT;
CREATE INDEX saml_requests_created ON saml_requests(created_at);

-- The replay cache: an assertion id is accepted once per connection.
CREATE TABLE saml_assertions (
    id            TEXT    NOT NULL,
    connection_id INTEGER NOT NULL REFERENCES saml_connections(id) ON DELETE CASCADE,
    seen_at       INTEGER NOT NULL,
    PRIMARY KEY (connection_id, id)
) STRICT;
CREATE INDEX saml_assertions_seen ON saml_assertions(seen_at);

-- +goose Down
DROP TABLE saml_assertions;
DROP TABLE saml_requests;
DROP TABLE saml_domains;
DROP TABLE saml_connections;
