-- name: SettingList
SELECT key, value, updated_at FROM user_settings WHERE user_id = ?1 ORDER BY key;

-- name: SettingUpsert
INSERT INTO user_settings (user_id, key, value, updated_at) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (user_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at;

-- name: SettingDelete
DELETE FROM user_settings WHERE user_id = ?1 AND key = ?2;
