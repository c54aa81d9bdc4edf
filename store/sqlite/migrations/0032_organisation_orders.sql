-- The live organisations in each order a list of them sorts by, as 0030
-- did for groups: a page walked every live organisation and sorted them
-- for 20 (Corteza's list, by name: 15 ms at 50,000 organisations on
-- SQLite), and PostgreSQL read a page by id through the index of handles,
-- the one partial index of live rows, and sorted it too.
CREATE INDEX organisations_live_id ON organisations (id) WHERE deleted_at IS NULL;
CREATE INDEX organisations_created ON organisations (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX organisations_updated ON organisations (updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX organisations_name ON organisations (lower(name), id) WHERE deleted_at IS NULL;
CREATE INDEX organisations_handle ON organisations (lower(handle), id) WHERE deleted_at IS NULL;
