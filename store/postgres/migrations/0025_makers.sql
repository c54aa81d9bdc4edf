-- Who made a team or a service account (a user's id; NULL when usher, an
-- import or an earlier version made it). Deleted ones count against their
-- maker's limits until housekeeping purges them, and service accounts
-- against their maker's for as long as they exist: not against whoever
-- owns the team now, whom a handover would charge with what others made
-- and deleted. No foreign key: the id only counts, and ids are not reused.
ALTER TABLE groups ADD COLUMN created_by bigint;
ALTER TABLE users ADD COLUMN created_by bigint;
CREATE INDEX groups_deleted_maker ON groups (created_by) WHERE deleted_at IS NOT NULL;
CREATE INDEX users_maker ON users (created_by) WHERE created_by IS NOT NULL;
