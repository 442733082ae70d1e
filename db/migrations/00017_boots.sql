-- +goose Up
-- One row per running `roster serve` (db/boots.go): its boot id, made at
-- start, is the name its outbox worker writes in outbox.claimed_by. A
-- starting process releases at once the claims of the boots it replaces
-- (same host, process gone or its own pid) and of boots silent for longer
-- than BootStale, instead of waiting out their leases.
CREATE TABLE boots (
    id         TEXT    PRIMARY KEY,
    host       TEXT    NOT NULL,
    pid        INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    seen_at    INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE boots;
