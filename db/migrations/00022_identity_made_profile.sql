-- +goose Up
-- Whether an external login made its profile (the sign-in that created the
-- user). An account's SAML identity provider is trusted to have asked its
-- own second factor only for the profiles it made (handlers/saml.go): a
-- profile someone made and protected with two-factor themselves, which a
-- connection later reached by its verified domain, is asked for it.
-- Logins linked before this column existed count as not having made
-- their profile, the careful side.
ALTER TABLE identities ADD COLUMN made_profile INTEGER NOT NULL DEFAULT 0 CHECK (made_profile IN (0, 1));

-- +goose Down
ALTER TABLE identities DROP COLUMN made_profile;
