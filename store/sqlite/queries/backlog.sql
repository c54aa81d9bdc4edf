-- The work waiting for the background senders, for metrics. Each reads
-- the partial index its sender claims through.

-- name: BacklogMail
-- Counted and found in the index alone; the first queued (the lowest id)
-- is the oldest, whose time is then read by its key.
SELECT b.n, (SELECT created_at FROM outbox WHERE id = b.first)
FROM (SELECT count(*) AS n, min(id) AS first FROM outbox INDEXED BY outbox_due WHERE sent_at IS NULL) AS b;

-- name: BacklogReminders
SELECT count(*) FROM reminders INDEXED BY reminders_due
WHERE remind_at <= ?1 AND remind_at IS NOT NULL AND delivered_at IS NULL AND dismissed_at IS NULL AND deleted_at IS NULL;
