-- A bulk load of users into a small table (store.LoadStart) sets aside the
-- indexes that enforce nothing and the search index's insert trigger, and
-- builds them once at its end (LoadRestore): a trigram index rebuilt in
-- one pass costs a fraction of one written a statement at a time. The
-- unique indexes stay and refuse conflicts row by row. The statements of
-- LoadRestore are those of the migrations that made these objects.

-- name: LoadTableSize
SELECT count(*) FROM (SELECT 1 FROM users LIMIT ?1);

-- name: LoadSetAside
DROP TRIGGER users_fts_insert;
DROP INDEX users_created_at;
DROP INDEX users_deleted_suspended;
DROP INDEX users_organisation;

-- name: LoadUnfinished
SELECT count(*) < 4 FROM sqlite_master
WHERE name IN ('users_fts_insert', 'users_created_at', 'users_deleted_suspended', 'users_organisation');

-- name: LoadRestore
CREATE INDEX IF NOT EXISTS users_created_at ON users (created_at, id);
CREATE INDEX IF NOT EXISTS users_deleted_suspended ON users (deleted_at, suspended_at);
CREATE INDEX IF NOT EXISTS users_organisation ON users (organisation_id, id) WHERE organisation_id IS NOT NULL;
CREATE TRIGGER IF NOT EXISTS users_fts_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_fts (rowid, username, name, email) VALUES (new.id, new.username, new.name, new.email);
END;
INSERT INTO users_fts (users_fts) VALUES ('rebuild');

-- A load's transactions are large: the page cache holds the unique
-- indexes it writes at random (128 MiB, from 2 MiB), so that their pages
-- are not read back and spilled to the log at every batch.

-- name: LoadConnStart
PRAGMA cache_size = -131072;

-- name: LoadConnFinish
PRAGMA cache_size = -2000;
