-- name: ReadyStandby
-- SQLite has no standby: a file is its own primary.
SELECT 0;

-- name: ReadyWrite
UPDATE ready SET at = ?1 WHERE id = 1;
