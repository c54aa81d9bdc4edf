-- Automation scripts: JavaScript run in a sandbox on triggers (server
-- scripts) or served in bundles to browsers (client scripts). triggers
-- holds the script's triggers separated by spaces, with a space at both
-- ends, so that one is found with LIKE '% name %'.
CREATE TABLE scripts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL UNIQUE,
    kind          TEXT    NOT NULL,
    source        TEXT    NOT NULL,
    triggers      TEXT    NOT NULL DEFAULT ' ',
    bundle        TEXT    NOT NULL DEFAULT '',
    enabled       INTEGER NOT NULL DEFAULT 1,
    compile_error TEXT    NOT NULL DEFAULT '',
    directory     INTEGER NOT NULL DEFAULT 0,
    version       INTEGER NOT NULL DEFAULT 1,
    created_by    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

-- The "after" runs an operation queued in its transaction. A sender
-- claims a run for a while (lease_until, claim) and marks it done in the
-- transaction that applies what the script did, so that it runs once
-- however many replicas send.
CREATE TABLE script_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    script_id   INTEGER NOT NULL REFERENCES scripts (id) ON DELETE CASCADE,
    event       TEXT    NOT NULL,
    resource    TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    actor_id    INTEGER,
    outcome     TEXT    NOT NULL DEFAULT '',
    log         TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    done_at     INTEGER,
    lease_until INTEGER,
    claim       TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX script_runs_due ON script_runs (id) WHERE done_at IS NULL;
CREATE INDEX script_runs_script ON script_runs (script_id);
