-- A bulk load of users into a small table (store.LoadStart) sets aside the
-- indexes that enforce nothing and the insert triggers of the search
-- indexes, of the e-mail claims and of user_counts, and does their work
-- once at its end (LoadRestore): a trigram index rebuilt in one pass
-- costs a fraction of one written a statement at a time, and the claims
-- and counts of the loaded users are written by one statement each. The
-- unique indexes stay and refuse conflicts row by row (users_email_key
-- among them: two live users never share a primary address). A new
-- user's address is still refused while loading when it is claimed
-- already (by a user from before the load, or as a secondary address,
-- whose claims stay): users_claim_load reads the claims, which costs less
-- than writing one. A secondary address of one loaded user that is the
-- primary of another is the importer's to refuse (userfile.Import does);
-- LoadRestore's claims fail on it, which leaves the load unfinished and
-- nothing lost (LoadClaimConflicts names the users). The statements of
-- LoadRestore are those of the migrations that made these objects, and
-- then one: the rebuild leaves the trigram index in several segments (8
-- at 100,000 users), and a search looks up each of its trigrams in every
-- one, through an internal statement that SQLite prepares again at each
-- lookup; 'optimize' merges them into one, which took a search's
-- statement from about 270 to 205 µs at 100,000 users (a second at the
-- end of such a load).

-- name: LoadTableSize
SELECT count(*) FROM (SELECT 1 FROM users LIMIT ?1);

-- name: LoadSetAside
DROP TRIGGER users_fts_insert;
DROP TRIGGER users_names_fts_insert;
-- The search indexes' update and delete triggers too: a row the load
-- wrote is in neither index, and FTS5 answers removing what it never held
-- with SQLITE_CORRUPT_VTAB, so that a change to such a row (an
-- administrator's, a later record's) failed until the load ended. The
-- end rebuilds both indexes from the table, changes made meanwhile
-- included.
DROP TRIGGER users_fts_update;
DROP TRIGGER users_fts_delete;
DROP TRIGGER users_names_fts_update;
DROP TRIGGER users_names_fts_delete;
DROP TRIGGER users_claim_insert;
DROP TRIGGER user_counts_insert;
CREATE TRIGGER users_claim_load BEFORE INSERT ON users
WHEN new.email_key IS NOT NULL AND new.deleted_at IS NULL
    AND EXISTS (SELECT 1 FROM email_claims WHERE email_key = new.email_key) BEGIN
    SELECT RAISE(FAIL, 'email_claims: the address is claimed');
END;
DROP INDEX users_created_at;
DROP INDEX users_deleted_suspended;
DROP INDEX users_organisation;

-- name: LoadUnfinished
SELECT count(*) < 11 OR EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'users_claim_load') FROM sqlite_master
WHERE name IN ('users_fts_insert', 'users_names_fts_insert', 'users_claim_insert', 'user_counts_insert',
    'users_created_at', 'users_deleted_suspended', 'users_organisation',
    'users_fts_update', 'users_fts_delete', 'users_names_fts_update', 'users_names_fts_delete');

-- SQLite writes one transaction at a time: the whole end of a load is
-- LoadRestore's.

-- LoadRestore is the whole end: it runs when the load is unfinished, and
-- leaves nothing to do beside it or to check after it.

-- name: LoadBesideNeeded
SELECT 0;

-- name: LoadRestoreNeeded
SELECT count(*) < 11 OR EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'users_claim_load') FROM sqlite_master
WHERE name IN ('users_fts_insert', 'users_names_fts_insert', 'users_claim_insert', 'user_counts_insert',
    'users_created_at', 'users_deleted_suspended', 'users_organisation',
    'users_fts_update', 'users_fts_delete', 'users_names_fts_update', 'users_names_fts_delete');

-- name: LoadValidate

-- name: LoadRestoreBeside

-- name: LoadRestoreIndexes

-- name: LoadRestore
DROP TRIGGER IF EXISTS users_claim_load;
INSERT INTO email_claims (email_key, user_id)
SELECT email_key, id FROM users u
WHERE email_key IS NOT NULL AND deleted_at IS NULL
    AND NOT EXISTS (SELECT 1 FROM email_claims c WHERE c.email_key = u.email_key AND c.user_id = u.id)
ORDER BY email_key;
CREATE TRIGGER IF NOT EXISTS users_claim_insert AFTER INSERT ON users
WHEN new.email_key IS NOT NULL AND new.deleted_at IS NULL BEGIN
    INSERT INTO email_claims (email_key, user_id) VALUES (new.email_key, new.id);
END;
DELETE FROM user_counts;
INSERT INTO user_counts (kind, state, deleted, n)
SELECT kind, state, deleted_at IS NOT NULL, count(*) FROM users GROUP BY 1, 2, 3;
CREATE TRIGGER IF NOT EXISTS user_counts_insert AFTER INSERT ON users BEGIN
    INSERT INTO user_counts (kind, state, deleted, n) VALUES (new.kind, new.state, new.deleted_at IS NOT NULL, 1)
    ON CONFLICT (kind, state, deleted) DO UPDATE SET n = n + 1;
END;
CREATE INDEX IF NOT EXISTS users_created_at ON users (created_at, id);
CREATE INDEX IF NOT EXISTS users_deleted_suspended ON users (deleted_at, suspended_at);
CREATE INDEX IF NOT EXISTS users_organisation ON users (organisation_id, id) WHERE organisation_id IS NOT NULL;
CREATE TRIGGER IF NOT EXISTS users_fts_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_fts (rowid, username, name, email) VALUES (new.id, new.username, new.name, new.email);
END;
CREATE TRIGGER IF NOT EXISTS users_fts_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_fts (users_fts, rowid, username, name, email) VALUES ('delete', old.id, old.username, old.name, old.email);
END;
CREATE TRIGGER IF NOT EXISTS users_fts_update AFTER UPDATE ON users
WHEN old.username IS NOT new.username OR old.name IS NOT new.name OR old.email IS NOT new.email BEGIN
    INSERT INTO users_fts (users_fts, rowid, username, name, email) VALUES ('delete', old.id, old.username, old.name, old.email);
    INSERT INTO users_fts (rowid, username, name, email) VALUES (new.id, new.username, new.name, new.email);
END;
INSERT INTO users_fts (users_fts) VALUES ('rebuild');
INSERT INTO users_fts (users_fts) VALUES ('optimize');
CREATE TRIGGER IF NOT EXISTS users_names_fts_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_names_fts (rowid, username, name) VALUES (new.id, new.username, new.name);
END;
CREATE TRIGGER IF NOT EXISTS users_names_fts_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_names_fts (users_names_fts, rowid, username, name) VALUES ('delete', old.id, old.username, old.name);
END;
CREATE TRIGGER IF NOT EXISTS users_names_fts_update AFTER UPDATE ON users
WHEN old.username IS NOT new.username OR old.name IS NOT new.name BEGIN
    INSERT INTO users_names_fts (users_names_fts, rowid, username, name) VALUES ('delete', old.id, old.username, old.name);
    INSERT INTO users_names_fts (rowid, username, name) VALUES (new.id, new.username, new.name);
END;
INSERT INTO users_names_fts (users_names_fts) VALUES ('rebuild');
INSERT INTO users_names_fts (users_names_fts) VALUES ('optimize');

-- A transaction of the writing connection begins IMMEDIATE, which takes
-- the database's one write lock: two processes that end one load at once
-- take turns without more, the later finding it finished
-- (LoadUnfinished, asked again within the transaction). The end holds
-- that lock for tens of seconds at a million users, longer than the 10 s
-- a connection waits for it (sqlite.Open): a process loading waits up to
-- 10 minutes instead (LoadWaitStart), so that a server finishing its load
-- at start (LoadRecover) holds up its batches without failing them. The
-- server itself waits 10 s and leaves the load to the importer then
-- (store.ErrLocked).

-- name: LoadWaitStart
PRAGMA busy_timeout = 600000;

-- name: LoadWaitFinish
PRAGMA busy_timeout = 10000;

-- name: LoadRestoreBesideLock

-- name: LoadRestoreIndexesLock

-- name: LoadLock

-- name: LoadEndLock

-- name: LoadEndUnlock

-- The users whose primary address another user claims (as a secondary
-- one), which fail LoadRestore's claims: the load cannot finish until one
-- of each pair is changed.

-- name: LoadClaimConflicts
SELECT u.email_key, u.id, c.user_id FROM users u JOIN email_claims c ON c.email_key = u.email_key AND c.user_id <> u.id
WHERE u.deleted_at IS NULL ORDER BY u.email_key LIMIT 10;

-- A load's transactions are large: the page cache holds the unique
-- indexes it writes at random (128 MiB, from 2 MiB), so that their pages
-- are not read back and spilled to the log at every batch. Synchronous
-- stays NORMAL: in WAL mode a commit does not wait for the disk already,
-- only a checkpoint does, and OFF would let a power cut during one
-- corrupt the file. The log is checkpointed into the database every
-- 65,536 pages (256 MiB) instead of every 1,000: a checkpoint writes the
-- latest copy of each page the log holds, and the unique indexes' pages,
-- written at random by every batch, were copied over again at each of
-- the many small ones. A crash keeps what a commit wrote to the log, as
-- before.

-- name: LoadConnStart
PRAGMA cache_size = -131072;
PRAGMA wal_autocheckpoint = 65536;

-- name: LoadConnFinish
PRAGMA cache_size = -2000;
PRAGMA wal_autocheckpoint = 1000;

-- A load's batch (store.InLoadTx) runs without foreign-key checks. A
-- statement that writes many rows inside a transaction, into a table with
-- foreign keys (users: plan, organisation_id; passwords: user_id), or
-- with a constraint or trigger that may ABORT, makes SQLite copy each page
-- it changes into a statement journal first, so as to undo the statement
-- alone: at a million users, the row's pages and its five unique
-- indexes' pages, written at random, made that copying a fifth of the
-- load's time. A batch writes only its own users' rows and is given up
-- whole on any error, so it needs neither the journal nor the checks:
-- the multi-row inserts fail rather than abort (UserInsertMany), so does
-- users_claim_load, and the checks are off. The pragma is taken only
-- outside a transaction, so it is set on the batch's connection before
-- the batch begins and set back after it ends; the batch holds the one
-- writing connection meanwhile, so no other transaction runs without the
-- checks, and a connection that could not set them back is closed.

-- name: LoadBatchStart
PRAGMA foreign_keys = OFF;

-- name: LoadBatchFinish
PRAGMA foreign_keys = ON;

