-- One row that the readiness check rewrites: a committed write proves the
-- database takes writes (not read-only, not out of disk).

CREATE TABLE ready (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at INTEGER NOT NULL
) STRICT;

INSERT INTO ready (id, at) VALUES (1, 0);
