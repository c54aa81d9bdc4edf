-- Attachments: files whose bytes live in the blob store (blob_key) and
-- whose description lives here. A user's avatar is an attachment of kind
-- avatar; the avatars table of 0003 is still read for avatars set before.
-- A purged owner leaves the row, owner_id null, so that no blob is left
-- without a row that names it.
CREATE TABLE attachments (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT    NOT NULL,
    owner_id     INTEGER REFERENCES users (id) ON DELETE SET NULL,
    name         TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    content_type TEXT    NOT NULL,
    checksum     TEXT    NOT NULL,
    width        INTEGER NOT NULL DEFAULT 0,
    height       INTEGER NOT NULL DEFAULT 0,
    blob_key     TEXT    NOT NULL UNIQUE,
    preview_key  TEXT    NOT NULL DEFAULT '',
    preview_type TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX attachments_owner ON attachments (owner_id, kind, id);
