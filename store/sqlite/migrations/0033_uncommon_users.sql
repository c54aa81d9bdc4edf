-- The live users a list keeps by an uncommon value of a flag — the
-- administrators, the users in a state other than active, of a kind other
-- than normal — each in id order. A page of them walked every live user in
-- its order looking for a match (a page of administrators, of blocked
-- users or of bots, which any signed-in user may ask for, read the whole
-- table when there were none); each index holds only such users, so a
-- load of ordinary ones writes nothing to them. A statement names the
-- value it keeps in its text (uncommonIndex in sqldb), so that the planner may
-- prove the index holds it.
CREATE INDEX users_admins ON users (id) WHERE is_admin AND deleted_at IS NULL;
CREATE INDEX users_uncommon_state ON users (state, id) WHERE state <> 'active' AND deleted_at IS NULL;
CREATE INDEX users_uncommon_kind ON users (kind, id) WHERE kind <> 'normal' AND deleted_at IS NULL;
