-- +goose Up
-- An entry of a person's activity log that someone else did (an Admin's
-- role change or removal of them, the acceptance of their invite, the
-- transfer of an account's ownership to them, the owner's deletion of an
-- account, the logins an Admin's deletion of a SAML connection took with
-- it) keeps no IP address or device: those are the other person's
-- (db.Event.ByOther). The CHECK holds every writer to it.
ALTER TABLE audit_events ADD COLUMN by_other INTEGER NOT NULL DEFAULT 0
    CHECK (by_other IN (0, 1) AND (by_other = 0 OR (ip = '' AND user_agent = '')));

-- The entries written before, each with the IP address and device of
-- whoever acted, are marked and scrubbed.
-- The second copy of an event written for the person who acted and the
-- person it concerns (db.auditBoth): written just after the first, in the
-- same transaction, with the same kind, account, time and detail (the
-- first copy's detail is '{}' once its person deleted their profile).
UPDATE audit_events AS e SET by_other = 1, ip = '', user_agent = ''
WHERE e.user_id IS NOT NULL
    AND e.kind IN ('role_changed', 'member_removed', 'owner_transferred', 'invite_accepted')
    AND EXISTS (SELECT 1 FROM audit_events p WHERE p.id = e.id - 1
        AND p.kind = e.kind AND p.created_at = e.created_at AND p.account_id IS e.account_id
        AND p.user_id IS NOT e.user_id AND (p.user_id IS NULL OR p.detail_json = e.detail_json));

-- The deletion of an account, in the log of each member but its owner,
-- who did it: the last owner the account was transferred to, else the
-- person who created it. An account whose owner cannot be told has every
-- copy scrubbed.
-- A SAML login that went with its connection, in the log of each person
-- but the one who deleted the connection (the Admin with the
-- saml_connection_deleted entry of that moment, written within the
-- second after) or the account (its owner). (Account ids are never
-- reused: 00010.)
-- +goose StatementBegin
CREATE TEMP TABLE deleted_account_owners AS
SELECT d.account_id, min(d.created_at) AS deleted_at, COALESCE(
    (SELECT json_extract(t.detail_json, '$.new_owner') FROM audit_events t
        WHERE t.kind = 'owner_transferred' AND t.account_id = d.account_id AND t.id < d.id
            AND json_valid(t.detail_json) AND json_extract(t.detail_json, '$.new_owner') IS NOT NULL
        ORDER BY t.id DESC LIMIT 1),
    (SELECT c.user_id FROM audit_events c
        WHERE c.kind = 'account_created' AND c.account_id = d.account_id ORDER BY c.id LIMIT 1)) AS owner_id
FROM audit_events d WHERE d.kind = 'account_deleted' GROUP BY d.account_id;
-- +goose StatementEnd

UPDATE audit_events AS e SET by_other = 1, ip = '', user_agent = ''
WHERE e.user_id IS NOT NULL AND e.kind = 'account_deleted'
    AND e.user_id IS NOT (SELECT o.owner_id FROM deleted_account_owners o WHERE o.account_id = e.account_id);

UPDATE audit_events AS e SET by_other = 1, ip = '', user_agent = ''
WHERE e.user_id IS NOT NULL AND e.kind = 'login_unlinked'
    AND json_valid(e.detail_json) AND json_type(e.detail_json, '$.connection') = 'text'
    AND NOT EXISTS (SELECT 1 FROM audit_events d WHERE d.kind = 'saml_connection_deleted'
        AND d.account_id = e.account_id AND d.created_at BETWEEN e.created_at AND e.created_at + 1 AND d.user_id = e.user_id)
    AND NOT EXISTS (SELECT 1 FROM deleted_account_owners o WHERE o.account_id = e.account_id
        AND o.deleted_at BETWEEN e.created_at - 1 AND e.created_at + 1 AND o.owner_id = e.user_id);

DROP TABLE deleted_account_owners;

-- +goose Down
-- The mark goes; the scrubbed IP addresses and devices do not come back
-- (they were never the log owner's), and later entries stay without them.
ALTER TABLE audit_events DROP COLUMN by_other;
