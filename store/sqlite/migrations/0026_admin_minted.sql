-- The administrator whose rights alone let a service-account token be
-- minted, or an SSH key be added to a service account (one who owns no
-- part of its team): the token or key ends when they stop being an
-- administrator, as one an owner minted ends when they stop owning the
-- team. NULL for every other token and key. No foreign key: the id only
-- names whom the token answers to, and ids are not reused.
ALTER TABLE tokens ADD COLUMN minted_by_admin INTEGER;
CREATE INDEX tokens_minted_by_admin ON tokens (minted_by_admin) WHERE minted_by_admin IS NOT NULL;
ALTER TABLE ssh_keys ADD COLUMN added_by_admin INTEGER;
CREATE INDEX ssh_keys_added_by_admin ON ssh_keys (added_by_admin) WHERE added_by_admin IS NOT NULL;
