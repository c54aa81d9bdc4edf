-- Applications registered with the service, with how a launcher ("unify")
-- presents them. An application outlives its owner's purge, ownerless.
CREATE TABLE applications (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL,
    name_key     TEXT    NOT NULL,
    owner_id     INTEGER REFERENCES users (id) ON DELETE SET NULL,
    enabled      INTEGER NOT NULL DEFAULT 1,
    unify_name   TEXT    NOT NULL DEFAULT '',
    unify_listed INTEGER NOT NULL DEFAULT 0,
    unify_icon   TEXT    NOT NULL DEFAULT '',
    unify_logo   TEXT    NOT NULL DEFAULT '',
    unify_url    TEXT    NOT NULL DEFAULT '',
    unify_config TEXT    NOT NULL DEFAULT '{}',
    unify_order  INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    deleted_at   INTEGER
) STRICT;

CREATE INDEX applications_owner ON applications (owner_id);
CREATE INDEX applications_name_key ON applications (name_key);
