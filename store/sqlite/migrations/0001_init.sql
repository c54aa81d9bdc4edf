-- Users, their identities and passwords, bearer tokens and the audit log.
-- Times are unix microseconds (UTC); booleans are 0/1.

CREATE TABLE users (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid               TEXT    NOT NULL UNIQUE,
    username           TEXT    NOT NULL,
    username_key       TEXT    NOT NULL,
    email              TEXT    NOT NULL DEFAULT '',
    email_key          TEXT,
    name               TEXT    NOT NULL DEFAULT '',
    first_name         TEXT    NOT NULL DEFAULT '',
    last_name          TEXT    NOT NULL DEFAULT '',
    display_name       TEXT    NOT NULL DEFAULT '',
    handle             TEXT    NOT NULL DEFAULT '',
    bio                TEXT    NOT NULL DEFAULT '',
    location           TEXT    NOT NULL DEFAULT '',
    skype              TEXT    NOT NULL DEFAULT '',
    linkedin           TEXT    NOT NULL DEFAULT '',
    twitter            TEXT    NOT NULL DEFAULT '',
    website_url        TEXT    NOT NULL DEFAULT '',
    language           TEXT    NOT NULL DEFAULT '',
    state              TEXT    NOT NULL,
    kind               TEXT    NOT NULL,
    is_admin           INTEGER NOT NULL DEFAULT 0,
    is_external        INTEGER NOT NULL DEFAULT 0,
    can_create_group   INTEGER NOT NULL DEFAULT 1,
    projects_limit     INTEGER NOT NULL DEFAULT 0,
    theme_id           INTEGER NOT NULL DEFAULT 1,
    color_scheme_id    INTEGER NOT NULL DEFAULT 1,
    two_factor_enabled INTEGER NOT NULL DEFAULT 0,
    external_id        TEXT,
    metadata           TEXT    NOT NULL DEFAULT '{}',
    email_confirmed_at INTEGER,
    last_sign_in_at    INTEGER,
    current_sign_in_at INTEGER,
    last_seen_at       INTEGER,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    suspended_at       INTEGER,
    deleted_at         INTEGER,
    version            INTEGER NOT NULL DEFAULT 1
) STRICT;

-- Names are unique case-insensitively among users that are not deleted.
CREATE UNIQUE INDEX users_username_key ON users (username_key) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX users_email_key ON users (email_key) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX users_external_id_key ON users (external_id) WHERE deleted_at IS NULL;
CREATE INDEX users_created_at ON users (created_at, id);

-- Substring search over username, name and e-mail: a trigram index kept in
-- step with users by triggers.
CREATE VIRTUAL TABLE users_fts USING fts5 (
    username, name, email,
    content = 'users', content_rowid = 'id', tokenize = 'trigram'
);

CREATE TRIGGER users_fts_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_fts (rowid, username, name, email) VALUES (new.id, new.username, new.name, new.email);
END;

CREATE TRIGGER users_fts_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_fts (users_fts, rowid, username, name, email) VALUES ('delete', old.id, old.username, old.name, old.email);
END;

CREATE TRIGGER users_fts_update AFTER UPDATE ON users
WHEN old.username IS NOT new.username OR old.name IS NOT new.name OR old.email IS NOT new.email BEGIN
    INSERT INTO users_fts (users_fts, rowid, username, name, email) VALUES ('delete', old.id, old.username, old.name, old.email);
    INSERT INTO users_fts (rowid, username, name, email) VALUES (new.id, new.username, new.name, new.email);
END;

CREATE TABLE identities (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider   TEXT    NOT NULL,
    extern_uid TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, provider),
    UNIQUE (provider, extern_uid)
) STRICT;

CREATE TABLE passwords (
    user_id    INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    hash       TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE tokens (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT    NOT NULL,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            TEXT    NOT NULL DEFAULT '',
    scopes          TEXT    NOT NULL DEFAULT '[]',
    hint            TEXT    NOT NULL,
    hash            BLOB    NOT NULL UNIQUE,
    expires_at      INTEGER,
    last_used_at    INTEGER,
    created_at      INTEGER NOT NULL,
    revoked_at      INTEGER,
    address         TEXT    NOT NULL DEFAULT '',
    user_agent      TEXT    NOT NULL DEFAULT '',
    impersonator_id INTEGER REFERENCES users (id) ON DELETE SET NULL
) STRICT;

CREATE INDEX tokens_user ON tokens (user_id, kind);
CREATE INDEX tokens_impersonator ON tokens (impersonator_id) WHERE impersonator_id IS NOT NULL;

-- The audit log outlives what it describes: no foreign keys.
CREATE TABLE audit_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    at              INTEGER NOT NULL,
    actor_kind      TEXT    NOT NULL,
    actor_id        INTEGER,
    actor_name      TEXT    NOT NULL DEFAULT '',
    impersonator_id INTEGER,
    action          TEXT    NOT NULL,
    resource_type   TEXT    NOT NULL,
    resource_id     TEXT    NOT NULL,
    changes         TEXT    NOT NULL DEFAULT '{}',
    meta            TEXT    NOT NULL DEFAULT '{}',
    address         TEXT    NOT NULL DEFAULT '',
    user_agent      TEXT    NOT NULL DEFAULT '',
    request_id      TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_actor ON audit_events (actor_id, id);
CREATE INDEX audit_events_resource ON audit_events (resource_type, resource_id, id);
CREATE INDEX audit_events_action ON audit_events (action, id);
