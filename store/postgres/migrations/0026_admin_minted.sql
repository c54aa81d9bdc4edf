-- The administrator whose rights alone let a service-account token be
-- minted (one who owns no part of its team): the token ends when they stop
-- being an administrator, as one an owner minted ends when they stop
-- owning the team. NULL for every other token. No foreign key: the id only
-- names whom the token answers to, and ids are not reused.
ALTER TABLE tokens ADD COLUMN minted_by_admin bigint;
CREATE INDEX tokens_minted_by_admin ON tokens (minted_by_admin) WHERE minted_by_admin IS NOT NULL;
