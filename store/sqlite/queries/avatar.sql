-- name: AvatarGet
SELECT user_id, content_type, data, etag, updated_at FROM avatars WHERE user_id = ?1;

-- name: AvatarUpsert
INSERT INTO avatars (user_id, content_type, data, etag, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (user_id) DO UPDATE SET content_type = excluded.content_type, data = excluded.data,
    etag = excluded.etag, updated_at = excluded.updated_at;

-- name: AvatarDelete
DELETE FROM avatars WHERE user_id = ?1;
