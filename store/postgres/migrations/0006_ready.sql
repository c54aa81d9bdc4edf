-- One row that the readiness check rewrites: a committed write proves the
-- database takes writes (not a standby, not read-only, not out of disk).

CREATE TABLE ready (
    id smallint    PRIMARY KEY CHECK (id = 1),
    at timestamptz NOT NULL
);

INSERT INTO ready (id, at) VALUES (1, now());
