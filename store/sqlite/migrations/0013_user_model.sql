-- A user's handle becomes unique, case-insensitively, among users that are
-- not deleted; a user may belong to one organisation and carry a free JSON
-- object (meta).
--
-- Handles were free text until now. No handle is changed here: a handle
-- that is valid (1 to 100 letters, digits and _ . -, starting with a letter
-- or digit, not digits alone) gets its lower-cased key, the first user
-- holding it keeps it when several do; any other keeps its text with no
-- key, and its user chooses a valid handle at their next change of it.
ALTER TABLE users ADD COLUMN handle_key      TEXT;
ALTER TABLE users ADD COLUMN organisation_id INTEGER REFERENCES organisations (id) ON DELETE SET NULL;
ALTER TABLE users ADD COLUMN meta            TEXT    NOT NULL DEFAULT '{}';

UPDATE users SET handle_key = lower(handle)
WHERE id IN (
    SELECT id FROM (
        SELECT id, deleted_at,
               row_number() OVER (PARTITION BY lower(handle), deleted_at IS NULL ORDER BY id) AS n
        FROM users
        WHERE length(handle) BETWEEN 1 AND 100
          AND handle GLOB '[A-Za-z0-9]*'
          AND handle NOT GLOB '*[^A-Za-z0-9_.-]*'
          AND handle GLOB '*[^0-9]*')
    WHERE n = 1 OR deleted_at IS NOT NULL);

CREATE UNIQUE INDEX users_handle_key ON users (handle_key) WHERE deleted_at IS NULL;
CREATE INDEX users_organisation ON users (organisation_id, id) WHERE organisation_id IS NOT NULL;
