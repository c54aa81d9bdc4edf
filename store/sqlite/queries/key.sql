-- name: KeyInsert
INSERT INTO ssh_keys (user_id, title, key, fingerprint, created_at, expires_at, added_by_admin) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
RETURNING id;

-- name: KeyByID
SELECT {{key_columns}} FROM ssh_keys WHERE id = ?1;

-- name: KeyList
SELECT {{key_columns}} FROM ssh_keys WHERE user_id = ?1 ORDER BY id;

-- name: KeySetExpiry
UPDATE ssh_keys SET expires_at = ?2 WHERE id = ?1;

-- name: KeyDelete
DELETE FROM ssh_keys WHERE id = ?1;

-- name: KeysAddedByAdmin
SELECT {{key_columns}} FROM ssh_keys WHERE added_by_admin = ?1 ORDER BY id;
