-- The access model: organisations, groups of four kinds, memberships,
-- permission rules, plans; and what hangs off a user: SSH keys, secondary
-- e-mail addresses, settings, an avatar.

CREATE TABLE organisations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    handle      TEXT    NOT NULL,
    handle_key  TEXT    NOT NULL,
    name        TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    archived_at INTEGER,
    deleted_at  INTEGER
) STRICT;

CREATE UNIQUE INDEX organisations_handle_key ON organisations (handle_key) WHERE deleted_at IS NULL;

CREATE TABLE groups (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT    NOT NULL,
    handle          TEXT    NOT NULL,
    handle_key      TEXT    NOT NULL,
    name            TEXT    NOT NULL DEFAULT '',
    description     TEXT    NOT NULL DEFAULT '',
    logo            TEXT    NOT NULL DEFAULT '',
    organisation_id INTEGER REFERENCES organisations (id) ON DELETE SET NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    archived_at     INTEGER,
    deleted_at      INTEGER,
    version         INTEGER NOT NULL DEFAULT 1
) STRICT;

-- A handle is unique within its kind among groups that are not deleted.
CREATE UNIQUE INDEX groups_handle_key ON groups (kind, handle_key) WHERE deleted_at IS NULL;
CREATE INDEX groups_organisation ON groups (organisation_id) WHERE organisation_id IS NOT NULL;

CREATE TABLE memberships (
    group_id   INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    level      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (group_id, user_id)
) STRICT;

CREATE INDEX memberships_user ON memberships (user_id, group_id);

CREATE TABLE rules (
    role_id   INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    resource  TEXT    NOT NULL,
    operation TEXT    NOT NULL,
    access    TEXT    NOT NULL,
    PRIMARY KEY (role_id, resource, operation)
) STRICT;

CREATE TABLE plans (
    name                     TEXT    PRIMARY KEY,
    name_key                 TEXT    NOT NULL UNIQUE,
    can_create_team          INTEGER NOT NULL DEFAULT 0,
    can_create_state_project INTEGER NOT NULL DEFAULT 0,
    can_manage_project_acl   INTEGER NOT NULL DEFAULT 0,
    can_manage_project_hooks INTEGER NOT NULL DEFAULT 0,
    project_limit            INTEGER NOT NULL DEFAULT 0,
    is_default               INTEGER NOT NULL DEFAULT 0,
    created_at               INTEGER NOT NULL,
    updated_at               INTEGER NOT NULL
) STRICT;

-- At most one default plan.
CREATE UNIQUE INDEX plans_default ON plans (is_default) WHERE is_default = 1;

ALTER TABLE users ADD COLUMN plan TEXT REFERENCES plans (name) ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE users ADD COLUMN avatar_etag TEXT NOT NULL DEFAULT '';

CREATE TABLE ssh_keys (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title       TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER
) STRICT;

CREATE INDEX ssh_keys_user ON ssh_keys (user_id, id);

CREATE TABLE user_emails (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email        TEXT    NOT NULL,
    email_key    TEXT    NOT NULL,
    confirmed_at INTEGER,
    created_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX user_emails_user ON user_emails (user_id, id);

-- Every address of every live user, primary or secondary, claims its key
-- here; the primary key keeps addresses unique across both kinds. Triggers
-- keep the claims in step with users and user_emails.
CREATE TABLE email_claims (
    email_key TEXT    PRIMARY KEY,
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE
) STRICT;

INSERT INTO email_claims (email_key, user_id)
SELECT email_key, id FROM users WHERE email_key IS NOT NULL AND deleted_at IS NULL;

CREATE TRIGGER users_claim_insert AFTER INSERT ON users
WHEN new.email_key IS NOT NULL AND new.deleted_at IS NULL BEGIN
    INSERT INTO email_claims (email_key, user_id) VALUES (new.email_key, new.id);
END;

-- A live user's new primary address: free the old one (unless it is also a
-- secondary address of theirs) and claim the new one (unless they hold it).
CREATE TRIGGER users_claim_change AFTER UPDATE OF email_key ON users
WHEN old.email_key IS NOT new.email_key AND old.deleted_at IS NULL AND new.deleted_at IS NULL BEGIN
    DELETE FROM email_claims WHERE email_key = old.email_key AND user_id = old.id
        AND NOT EXISTS (SELECT 1 FROM user_emails WHERE user_id = old.id AND email_key = old.email_key);
    INSERT INTO email_claims (email_key, user_id)
        SELECT new.email_key, new.id WHERE new.email_key IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM email_claims WHERE email_key = new.email_key AND user_id = new.id);
END;

-- A soft-deleted user holds no address.
CREATE TRIGGER users_claim_delete AFTER UPDATE OF deleted_at ON users
WHEN old.deleted_at IS NULL AND new.deleted_at IS NOT NULL BEGIN
    DELETE FROM email_claims WHERE user_id = new.id;
END;

-- An undeleted user claims its addresses again; one taken meanwhile fails
-- the undelete.
CREATE TRIGGER users_claim_undelete AFTER UPDATE OF deleted_at ON users
WHEN old.deleted_at IS NOT NULL AND new.deleted_at IS NULL BEGIN
    INSERT INTO email_claims (email_key, user_id)
        SELECT new.email_key, new.id WHERE new.email_key IS NOT NULL;
    INSERT INTO email_claims (email_key, user_id)
        SELECT DISTINCT email_key, new.id FROM user_emails
        WHERE user_id = new.id AND email_key IS NOT new.email_key;
END;

CREATE TRIGGER user_emails_claim_insert AFTER INSERT ON user_emails BEGIN
    INSERT INTO email_claims (email_key, user_id)
        SELECT new.email_key, new.user_id FROM users WHERE id = new.user_id AND deleted_at IS NULL;
END;

CREATE TRIGGER user_emails_claim_delete AFTER DELETE ON user_emails BEGIN
    DELETE FROM email_claims WHERE email_key = old.email_key AND user_id = old.user_id
        AND NOT EXISTS (SELECT 1 FROM users WHERE id = old.user_id AND email_key = old.email_key);
END;

CREATE TABLE user_settings (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key        TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, key)
) STRICT;

CREATE TABLE avatars (
    user_id      INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    content_type TEXT    NOT NULL,
    data         BLOB    NOT NULL,
    etag         TEXT    NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;
