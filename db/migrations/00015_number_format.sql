-- +goose Up
-- How a person's counts are written: 1,234.5 or 1 234,5. The CHECK is an
-- OR chain, not IN, for the reason in 00008.
ALTER TABLE preferences ADD COLUMN number_format TEXT NOT NULL DEFAULT 'comma_point'
    CHECK (number_format = 'comma_point' OR number_format = 'space_comma');

-- +goose Down
ALTER TABLE preferences DROP COLUMN number_format;
