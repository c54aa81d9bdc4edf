-- name: AppInsert
INSERT INTO applications (name, name_key, owner_id, enabled, unify_name, unify_listed, unify_icon, unify_logo,
    unify_url, unify_config, unify_order, created_at, updated_at, deleted_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
RETURNING id;

-- name: AppByID
SELECT {{app_columns}} FROM applications WHERE id = ?1;

-- name: AppWrite
UPDATE applications SET name = ?1, name_key = ?2, owner_id = ?3, enabled = ?4, unify_name = ?5,
    unify_listed = ?6, unify_icon = ?7, unify_logo = ?8, unify_url = ?9, unify_config = ?10,
    unify_order = ?11, updated_at = ?12, deleted_at = ?13
WHERE id = ?14;
