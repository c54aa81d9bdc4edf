-- The work waiting for the background senders, for metrics. Each reads
-- the partial index its sender claims through.

-- name: BacklogMail
SELECT count(*), min(created_at) FROM outbox WHERE sent_at IS NULL;

-- name: BacklogReminders
SELECT count(*) FROM reminders
WHERE remind_at <= $1 AND remind_at IS NOT NULL AND delivered_at IS NULL AND dismissed_at IS NULL AND deleted_at IS NULL;
