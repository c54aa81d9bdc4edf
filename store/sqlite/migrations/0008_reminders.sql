-- Reminders: a user reminded of a resource at a time, by e-mail through
-- the outbox. A due reminder is claimed for a while (lease_until, claim) by
-- one sender, which marks it delivered in the transaction that queues its
-- mail; a change to the reminder voids the claim.
CREATE TABLE reminders (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    resource     TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    assigned_to  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_by   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    remind_at    INTEGER,
    snooze_count INTEGER NOT NULL DEFAULT 0,
    dismissed_at INTEGER,
    delivered_at INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    deleted_at   INTEGER,
    lease_until  INTEGER,
    claim        TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX reminders_assigned ON reminders (assigned_to, id);
CREATE INDEX reminders_created ON reminders (created_by, id);
CREATE INDEX reminders_resource ON reminders (resource, id);
CREATE INDEX reminders_due ON reminders (remind_at, id)
    WHERE delivered_at IS NULL AND dismissed_at IS NULL AND deleted_at IS NULL AND remind_at IS NOT NULL;
