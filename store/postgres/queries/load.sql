-- A bulk load of users into a small table (store.LoadStart) sets aside the
-- indexes that enforce nothing — the trigram indexes above all, whose
-- every row costs dozens of entries — and builds them once at its end
-- (LoadRestoreIndexes), in one pass each. The e-mail claims of loaded
-- users are also written at the end (LoadRestoreBeside, then LoadRestore
-- for users written meanwhile), instead of by a trigger call for each
-- row: during the load users_claims fires on updates only, and
-- users_claims_load, once a statement, refuses a new user whose address
-- is claimed already (by a user from before the load, or as a secondary
-- address, whose claims stay). The unique indexes stay and refuse
-- conflicts row by row (users_email_key among them: two live users never
-- share a primary address); a secondary address of one loaded user that
-- is the primary of another is the importer's to refuse (userfile.Import
-- does); the end's claims fail on it, which leaves the load unfinished
-- and nothing lost (LoadClaimConflicts names the users). The statements
-- of the end are those of the migrations that made these objects.
-- user_counts' trigger runs once a statement already (a COPY is one) and
-- stays.

-- name: LoadTableSize
SELECT count(*) FROM (SELECT 1 FROM users LIMIT $1) AS u;

-- name: LoadSetAside
-- Besides the indexes and the claims, the foreign keys of passwords and
-- email_claims to users: each row's check is a query that also locks the
-- user's row (FOR KEY SHARE), writing to its page; a million of them, for
-- the passwords of a load, were 5 % of the machine's time during it, and
-- the end's claims did as many again. LoadRestore puts them back, and
-- LoadValidate checks them once over the whole table, after removing what
-- their ON DELETE CASCADE would have removed (rows of users deleted
-- during the load).
DROP INDEX users_created_at, users_deleted_suspended, users_organisation, users_search_trgm, users_names_trgm;
ALTER TABLE passwords DROP CONSTRAINT passwords_user_id_fkey;
ALTER TABLE email_claims DROP CONSTRAINT email_claims_user_id_fkey;
DROP TRIGGER users_claims ON users;
CREATE TRIGGER users_claims_update AFTER UPDATE OF email_key, deleted_at ON users
FOR EACH ROW EXECUTE FUNCTION users_claims();
CREATE OR REPLACE FUNCTION users_claims_load() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    taken text;
BEGIN
    SELECT n.email_key INTO taken FROM new_users n JOIN email_claims c ON c.email_key = n.email_key
    WHERE n.deleted_at IS NULL LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'the address % is claimed', taken
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'email_claims_pkey';
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER users_claims_load AFTER INSERT ON users
REFERENCING NEW TABLE AS new_users FOR EACH STATEMENT EXECUTE FUNCTION users_claims_load();

-- name: LoadUnfinished
SELECT count(*) < 5 OR NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'users'::regclass AND tgname = 'users_claims')
    OR EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid IN ('passwords'::regclass, 'email_claims'::regclass)
        AND conname IN ('passwords_user_id_fkey', 'email_claims_user_id_fkey') AND NOT convalidated)
FROM pg_indexes
WHERE schemaname = current_schema() AND tablename = 'users' AND indexname IN ('users_created_at',
    'users_deleted_suspended', 'users_organisation', 'users_search_trgm', 'users_names_trgm');

-- name: LoadBesideNeeded
SELECT count(*) < 5 OR NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'users'::regclass AND tgname = 'users_claims')
FROM pg_indexes
WHERE schemaname = current_schema() AND tablename = 'users' AND indexname IN ('users_created_at',
    'users_deleted_suspended', 'users_organisation', 'users_search_trgm', 'users_names_trgm');

-- name: LoadRestoreNeeded
SELECT NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'users'::regclass AND tgname = 'users_claims');

-- name: LoadRestoreBeside
-- The bulk of a load's end, in two transactions at once on two
-- connections (sqldb's LoadFinish), each in one server process: the
-- claims of the loaded users and the indexes set aside (the trigram
-- index most of it), each some 12–14 s of one core at a million users
-- when the claims still had their foreign key (LoadSetAside). Neither changes the
-- triggers, whose DDL would lock the table against the other, so the
-- claims go in under the load's triggers; LoadRestore then claims what
-- users other writers added meanwhile, with the triggers put back.
-- No nested loop: into an empty database, the statistics the import
-- gathered (ANALYZE) say email_claims is empty, and the planner joined
-- the claims' INSERT … SELECT to it by a nested loop over a scan of
-- email_claims, the table that INSERT fills, read again for each loaded
-- user: 41 s of 49 for 100,000 users, hours for a million. A hash of the
-- claims there were reads them once.
SET LOCAL enable_nestloop = off;
INSERT INTO email_claims (email_key, user_id)
SELECT email_key, id FROM users u
WHERE email_key IS NOT NULL AND deleted_at IS NULL
    AND NOT EXISTS (SELECT 1 FROM email_claims c WHERE c.email_key = u.email_key AND c.user_id = u.id);

-- name: LoadRestoreIndexes
SET LOCAL maintenance_work_mem = '256MB';
CREATE INDEX IF NOT EXISTS users_created_at ON users (created_at, id);
CREATE INDEX IF NOT EXISTS users_deleted_suspended ON users (deleted_at, suspended_at);
CREATE INDEX IF NOT EXISTS users_organisation ON users (organisation_id, id) WHERE organisation_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS users_search_trgm ON users USING gin (search_key gin_trgm_ops);
CREATE INDEX IF NOT EXISTS users_names_trgm ON users USING gin (usher_search_key(lower(username || chr(1) || name)) gin_trgm_ops);

-- name: LoadRestore
-- After LoadRestoreBeside and LoadRestoreIndexes: the triggers as the
-- migrations made them, the claims of users written since, and the
-- foreign keys (each unless there: DROP CONSTRAINT IF EXISTS would wait
-- even for a reader of passwords or email_claims while holding users;
-- ADD CONSTRAINT waits for their writers only), in one transaction,
-- whose trigger users_claims says the load is restored
-- (LoadRestoreNeeded). Its DROP TRIGGER locks users against every
-- statement, reads included, until it commits, so it holds only what
-- must change at once with the triggers: 1.3–1.5 s at a million users,
-- the claims most of it. The foreign keys go back NOT VALID, which
-- checks the rows written from then on only; LoadValidate checks the
-- others after it, holding back no read (it was 4 s more of this lock).
SET LOCAL enable_nestloop = off;
DROP TRIGGER IF EXISTS users_claims_load ON users;
DROP FUNCTION IF EXISTS users_claims_load();
DROP TRIGGER IF EXISTS users_claims_update ON users;
DROP TRIGGER IF EXISTS users_claims ON users;
CREATE TRIGGER users_claims AFTER INSERT OR UPDATE OF email_key, deleted_at ON users
FOR EACH ROW EXECUTE FUNCTION users_claims();
INSERT INTO email_claims (email_key, user_id)
SELECT email_key, id FROM users u
WHERE email_key IS NOT NULL AND deleted_at IS NULL
    AND NOT EXISTS (SELECT 1 FROM email_claims c WHERE c.email_key = u.email_key AND c.user_id = u.id);
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'passwords'::regclass AND conname = 'passwords_user_id_fkey') THEN
        ALTER TABLE passwords ADD CONSTRAINT passwords_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id)
            ON DELETE CASCADE NOT VALID;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'email_claims'::regclass AND conname = 'email_claims_user_id_fkey') THEN
        ALTER TABLE email_claims ADD CONSTRAINT email_claims_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id)
            ON DELETE CASCADE NOT VALID;
    END IF;
END;
$$;

-- name: LoadValidate
-- The end's last transaction: the rows of users deleted during the load
-- go, as the foreign keys' ON DELETE CASCADE would have removed them,
-- and the keys are checked over the whole tables. VALIDATE CONSTRAINT
-- locks passwords and email_claims against schema changes, VACUUM and
-- ANALYZE, not against reads or writes, and users only as a reader.
SET LOCAL enable_nestloop = off;
DELETE FROM passwords p WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = p.user_id);
DELETE FROM email_claims c WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = c.user_id);
ALTER TABLE passwords VALIDATE CONSTRAINT passwords_user_id_fkey;
ALTER TABLE email_claims VALIDATE CONSTRAINT email_claims_user_id_fkey;

-- Two processes may finish one load at once (replicas of usher serve
-- that start together, LoadRecover), or one may finish it while another
-- starts one (LoadSetAside): each step begins with a lock of its own for
-- the schema, held to its transaction's end, so that they take turns,
-- and then asks again whether it has work, so that the later skips a
-- step the other made needless. LoadRestore and LoadValidate run on one
-- connection that holds lock 3 (LoadEndLock, a session's) from before
-- the one to after the other, so that no process takes LoadValidate of
-- a load that another restored and is about to check; LoadLock, taken by
-- LoadSetAside, LoadRestore and LoadValidate, takes lock 3 first, then
-- the two steps' locks, always in that order.

-- PostgreSQL waits for a lock as long as it takes (lock_timeout 0).

-- name: LoadWaitStart
SELECT 1;

-- name: LoadWaitFinish
SELECT 1;

-- name: LoadRestoreBesideLock
SELECT pg_advisory_xact_lock(hashtext(current_schema()), 1);

-- name: LoadRestoreIndexesLock
SELECT pg_advisory_xact_lock(hashtext(current_schema()), 2);

-- name: LoadLock
SELECT pg_advisory_xact_lock(hashtext(current_schema()), 3);
SELECT pg_advisory_xact_lock(hashtext(current_schema()), 1);
SELECT pg_advisory_xact_lock(hashtext(current_schema()), 2);

-- name: LoadEndLock
SELECT pg_advisory_lock(hashtext(current_schema()), 3);

-- name: LoadEndUnlock
-- False when the session did not hold it: a connection pooler that runs
-- each statement on another session (PgBouncer in transaction mode)
-- would have left it held on one of them.
SELECT pg_advisory_unlock(hashtext(current_schema()), 3);

-- The users whose primary address another user claims (as a secondary
-- one), which fail LoadRestore's claims: the load cannot finish until one
-- of each pair is changed.

-- name: LoadClaimConflicts
SELECT u.email_key, u.id, c.user_id FROM users u JOIN email_claims c ON c.email_key = u.email_key AND c.user_id <> u.id
WHERE u.deleted_at IS NULL ORDER BY u.email_key LIMIT 10;

-- PostgreSQL's connections keep no setting a load changes.

-- name: LoadConnStart
SELECT 1;

-- name: LoadConnFinish
SELECT 1;

-- A load's batch (store.InLoadTx) needs no setting here: a failed
-- statement ends PostgreSQL's whole transaction, so none keeps a journal
-- to undo itself alone, and a batch's users are copied (UserCopyStart).

-- name: LoadBatchStart

-- name: LoadBatchFinish
