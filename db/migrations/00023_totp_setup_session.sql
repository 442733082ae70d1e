-- +goose Up
-- An authenticator-app set-up belongs to the session that started it,
-- behind re-authentication (review 3, finding 1): session_id is that
-- session while the set-up waits for its confirmation (confirmed_at NULL)
-- and NULL once it is confirmed. Ending the session ends the set-up with
-- it, whatever path ends it (ON DELETE CASCADE); a confirmed secret has no
-- session and stays. Set-ups begun before this migration belong to no
-- session, so nothing could finish them: they go.
ALTER TABLE totp_secrets ADD COLUMN session_id INTEGER REFERENCES sessions(id) ON DELETE CASCADE;
CREATE INDEX totp_secrets_session ON totp_secrets (session_id);
DELETE FROM totp_secrets WHERE confirmed_at IS NULL;

-- +goose Down
-- A column in a foreign key cannot be dropped: the table is rebuilt as
-- 00018 made it, keeping every secret (a pending set-up loses its session).
DROP INDEX totp_secrets_session;
CREATE TABLE totp_secrets_old (
    user_id      INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret       BLOB    NOT NULL,
    confirmed_at INTEGER,
    last_step    INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL
) STRICT;
INSERT INTO totp_secrets_old (user_id, secret, confirmed_at, last_step, created_at)
SELECT user_id, secret, confirmed_at, last_step, created_at FROM totp_secrets;
DROP TABLE totp_secrets;
ALTER TABLE totp_secrets_old RENAME TO totp_secrets;
