-- name: EmailInsert
INSERT INTO user_emails (user_id, email, email_key, confirmed_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
RETURNING id;

-- name: EmailByID
SELECT {{email_columns}} FROM user_emails WHERE id = ?1;

-- name: EmailList
SELECT {{email_columns}} FROM user_emails WHERE user_id = ?1 ORDER BY id;

-- name: EmailDelete
DELETE FROM user_emails WHERE id = ?1;

-- name: EmailConfirm
UPDATE user_emails SET confirmed_at = ?1 WHERE id = ?2;

-- name: EmailDeleteStale
DELETE FROM user_emails WHERE confirmed_at IS NULL AND created_at < ?1;

-- name: EmailHolder
SELECT user_id FROM email_claims WHERE email_key = ?1;

-- name: UsernamesHeld
-- Which of the keys, lower-cased usernames (a JSON array), live users hold.
-- The index of live users' names, named, as in UserFind.
SELECT username_key FROM users INDEXED BY users_username_key
WHERE username_key IN (SELECT value FROM json_each(?1)) AND deleted_at IS NULL;
