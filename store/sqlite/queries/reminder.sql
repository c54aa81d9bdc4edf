-- name: ReminderInsert
INSERT INTO reminders (resource, payload, assigned_to, created_by, remind_at, snooze_count, dismissed_at,
                       delivered_at, created_at, updated_at, deleted_at, written_by)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
RETURNING id;

-- name: ReminderByID
SELECT {{reminder_columns}} FROM reminders WHERE id = ?1;

-- name: ReminderByIDForUpdate
-- SQLite has one writer: the transaction holds the database, not a row.
SELECT {{reminder_columns}} FROM reminders WHERE id = ?1;

-- name: ReminderWrite
-- Any change voids a claim in flight: its sender then delivers nothing.
UPDATE reminders SET resource = ?1, payload = ?2, assigned_to = ?3, remind_at = ?4, snooze_count = ?5,
    dismissed_at = ?6, delivered_at = ?7, updated_at = ?8, deleted_at = ?9, lease_until = NULL, claim = '',
    written_by = ?11
WHERE id = ?10;

-- name: ReminderClaim
-- The single writer makes the claim atomic: no other sender sees these rows
-- as due until the lease ends.
UPDATE reminders SET lease_until = ?2, claim = ?3
WHERE id IN (SELECT id FROM reminders
             WHERE remind_at <= ?1 AND remind_at IS NOT NULL AND delivered_at IS NULL AND dismissed_at IS NULL
               AND deleted_at IS NULL AND (lease_until IS NULL OR lease_until <= ?1)
             ORDER BY remind_at, id LIMIT ?4)
RETURNING {{reminder_columns}};

-- name: ReminderDeliver
UPDATE reminders SET delivered_at = ?1, lease_until = NULL, claim = ''
WHERE id = ?2 AND claim = ?3 AND claim <> '' AND delivered_at IS NULL AND dismissed_at IS NULL AND deleted_at IS NULL;
