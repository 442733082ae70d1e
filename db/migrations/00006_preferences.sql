-- +goose Up
-- One row per user who has saved a preference; a user without a row gets
-- the defaults of db.DefaultPreferences, which are also the column defaults.
-- timezone is an IANA name checked by the application against the tz
-- database it embeds; '' means not chosen yet (UTC until the browser's zone
-- is saved).
CREATE TABLE preferences (
    user_id     INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    page_size   INTEGER NOT NULL DEFAULT 25 CHECK (page_size IN (10, 25, 50, 100)),
    timezone    TEXT    NOT NULL DEFAULT '' CHECK (length(timezone) <= 64),
    date_format TEXT    NOT NULL DEFAULT 'iso' CHECK (date_format IN ('iso', 'us', 'eu', 'relative')),
    clock       TEXT    NOT NULL DEFAULT '24' CHECK (clock IN ('12', '24')),
    week_start  TEXT    NOT NULL DEFAULT 'monday' CHECK (week_start IN ('monday', 'sunday', 'saturday')),
    theme       TEXT    NOT NULL DEFAULT 'system' CHECK (theme IN ('system', 'light', 'dark')),
    graph_style TEXT    NOT NULL DEFAULT 'line' CHECK (graph_style IN ('line', 'area', 'bar')),
    graph_range TEXT    NOT NULL DEFAULT '7d' CHECK (graph_range IN ('24h', '7d', '30d', '90d')),
    legend      INTEGER NOT NULL DEFAULT 1 CHECK (legend IN (0, 1)),
    colourblind INTEGER NOT NULL DEFAULT 0 CHECK (colourblind IN (0, 1)),
    updated_at  INTEGER NOT NULL
) STRICT;

-- The sign-in chart of /profile/activity reads one user's sign-ins by time.
CREATE INDEX audit_events_user_kind ON audit_events(user_id, kind, created_at);

-- +goose Down
DROP INDEX audit_events_user_kind;
DROP TABLE preferences;
