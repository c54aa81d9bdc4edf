-- name: InstanceSettingList
SELECT name, value, updated_at, updated_by FROM instance_settings
WHERE substr(name, 1, length($1::text)) = $1::text ORDER BY name;

-- name: InstanceSettingGet
SELECT name, value, updated_at, updated_by FROM instance_settings WHERE name = $1;

-- name: InstanceSettingUpsert
INSERT INTO instance_settings (name, value, updated_at, updated_by) VALUES ($1, $2, $3, $4)
ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,
    updated_by = excluded.updated_by;

-- name: InstanceSettingDelete
DELETE FROM instance_settings WHERE name = $1;
