-- +goose Up
-- Self-service domain verification. saml_domains now holds a claim for
-- every email domain a connection lists: pending (verified_at NULL) until an
-- Admin shows control of the domain by publishing the TXT record
-- roster-verification=<verification_token>, or an operator runs
-- roster saml verify-domain. Several connections may claim a domain; it is
-- verified for at most one (the partial unique index). Nothing references
-- saml_domains, so it is rebuilt inside the migration's transaction.
CREATE TABLE saml_domains_new (
    connection_id      INTEGER NOT NULL REFERENCES saml_connections(id) ON DELETE CASCADE,
    domain             TEXT    NOT NULL COLLATE NOCASE,
    verification_token TEXT    NOT NULL UNIQUE,
    verified_at        INTEGER, -- NULL while the claim is pending
    PRIMARY KEY (connection_id, domain)
) STRICT;
-- Existing rows were verified by an operator: they stay verified.
INSERT INTO saml_domains_new (connection_id, domain, verification_token, verified_at)
SELECT connection_id, lower(domain), lower(hex(randomblob(16))), verified_at FROM saml_domains;
-- Every other listed domain gets a pending claim with its own token.
WITH RECURSIVE listed(connection_id, domain, rest) AS (
    SELECT id, '', email_domains || ',' FROM saml_connections
    UNION ALL
    SELECT connection_id, substr(rest, 1, instr(rest, ',') - 1), substr(rest, instr(rest, ',') + 1)
    FROM listed WHERE rest <> ''
)
INSERT INTO saml_domains_new (connection_id, domain, verification_token)
SELECT connection_id, lower(trim(domain)), lower(hex(randomblob(16))) FROM listed WHERE trim(domain) <> ''
ON CONFLICT (connection_id, domain) DO NOTHING;
DROP TABLE saml_domains;
ALTER TABLE saml_domains_new RENAME TO saml_domains;
CREATE UNIQUE INDEX saml_domains_verified ON saml_domains(domain) WHERE verified_at IS NOT NULL;

-- IdP-initiated sign-in is allowed only for a connection with a verified
-- domain: a connection that has none has it switched off, and its Admins
-- can switch it on again once a domain is verified.
UPDATE saml_connections SET allow_idp_initiated = 0
WHERE allow_idp_initiated <> 0
  AND NOT EXISTS (SELECT 1 FROM saml_domains d WHERE d.connection_id = saml_connections.id AND d.verified_at IS NOT NULL);

-- The Verify button's DNS look-ups, for its limits: one row per look-up,
-- under a key (the account, the client address), forgotten after a minute.
CREATE TABLE dns_lookups (
    key        TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX dns_lookups_key ON dns_lookups(key, created_at);

-- +goose Down
DROP TABLE dns_lookups;
CREATE TABLE saml_domains_old (
    connection_id INTEGER NOT NULL REFERENCES saml_connections(id) ON DELETE CASCADE,
    domain        TEXT    NOT NULL COLLATE NOCASE UNIQUE,
    verified_at   INTEGER NOT NULL,
    PRIMARY KEY (connection_id, domain)
) STRICT;
INSERT INTO saml_domains_old (connection_id, domain, verified_at)
SELECT connection_id, domain, verified_at FROM saml_domains WHERE verified_at IS NOT NULL;
DROP TABLE saml_domains;
ALTER TABLE saml_domains_old RENAME TO saml_domains;
