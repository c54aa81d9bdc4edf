-- name: ReadyStandby
SELECT pg_is_in_recovery();

-- name: ReadyWrite
UPDATE ready SET at = $1 WHERE id = 1;
