-- Housekeeping deletes reminders deleted long enough ago (Store.PruneEnded):
-- nothing finds, lists or delivers a deleted reminder, and each kept its
-- payload. This finds them without reading the table.
CREATE INDEX reminders_deleted ON reminders (deleted_at) WHERE deleted_at IS NOT NULL;
