-- A bulk load of users into a small table (store.LoadStart) sets aside the
-- indexes that enforce nothing — the trigram index above all, whose
-- every row costs dozens of entries — and builds them once at its end
-- (LoadRestore), in one pass each. The unique indexes stay and refuse
-- conflicts row by row. The statements of LoadRestore are those of the
-- migrations that made these indexes.

-- name: LoadTableSize
SELECT count(*) FROM (SELECT 1 FROM users LIMIT $1) AS u;

-- name: LoadSetAside
DROP INDEX users_created_at, users_deleted_suspended, users_organisation, users_search_trgm;

-- name: LoadUnfinished
SELECT count(*) < 4 FROM pg_indexes
WHERE schemaname = current_schema() AND tablename = 'users' AND indexname IN ('users_created_at',
    'users_deleted_suspended', 'users_organisation', 'users_search_trgm');

-- name: LoadRestore
SET LOCAL maintenance_work_mem = '256MB';
CREATE INDEX IF NOT EXISTS users_created_at ON users (created_at, id);
CREATE INDEX IF NOT EXISTS users_deleted_suspended ON users (deleted_at, suspended_at);
CREATE INDEX IF NOT EXISTS users_organisation ON users (organisation_id, id) WHERE organisation_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS users_search_trgm ON users USING gin (search_text gin_trgm_ops);

-- PostgreSQL's connections keep no setting a load changes.

-- name: LoadConnStart
SELECT 1;

-- name: LoadConnFinish
SELECT 1;
