-- +goose Up
-- The first verification of an address ends what was attached before it
-- (DESIGN section 5): db.confirmAddress removes the logins linked while
-- the account email was unverified before it sets email_verified_at. A
-- write that sets it from NULL while logins are still linked skipped that
-- rule; it fails here instead of leaving someone else's login attached.
-- (A profile made by an external login with a confirmed email is inserted
-- verified, which this does not concern.)
-- +goose StatementBegin
CREATE TRIGGER users_first_verification BEFORE UPDATE OF email_verified_at ON users
WHEN OLD.email_verified_at IS NULL AND NEW.email_verified_at IS NOT NULL
    AND EXISTS (SELECT 1 FROM identities WHERE user_id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'first verification with linked logins: go through db.confirmAddress');
END;
-- +goose StatementEnd

-- Links mailed to the account email prove only that address: whatever
-- changes it voids the unused ones.
-- +goose StatementBegin
CREATE TRIGGER users_email_changed_links AFTER UPDATE OF email ON users
WHEN OLD.email IS NOT NEW.email
BEGIN
    DELETE FROM email_tokens WHERE user_id = NEW.id AND used_at IS NULL;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER users_email_changed_links;
DROP TRIGGER users_first_verification;
