-- A deleted team or internal group keeps its handle from all but
-- administrators, so creating or renaming one looks the handle up among
-- the deleted groups too; groups_handle_key holds live groups only.
CREATE INDEX groups_deleted_handle ON groups (handle_key) WHERE deleted_at IS NOT NULL;
