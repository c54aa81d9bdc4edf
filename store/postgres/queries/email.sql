-- name: EmailInsert
INSERT INTO user_emails (user_id, email, email_key, confirmed_at, created_at) VALUES ($1, $2, $3, $4, $5)
RETURNING id;

-- name: EmailByID
SELECT {{email_columns}} FROM user_emails WHERE id = $1;

-- name: EmailList
SELECT {{email_columns}} FROM user_emails WHERE user_id = $1 ORDER BY id;

-- name: EmailDelete
DELETE FROM user_emails WHERE id = $1;

-- name: EmailConfirm
UPDATE user_emails SET confirmed_at = $1 WHERE id = $2;

-- name: EmailDeleteStale
DELETE FROM user_emails WHERE confirmed_at IS NULL AND created_at < $1;

-- name: EmailHolder
SELECT user_id FROM email_claims WHERE email_key = $1;

-- name: UsernamesHeld
-- Which of the keys, lower-cased usernames, live users hold.
SELECT username_key FROM users WHERE username_key = ANY($1::text[]) AND deleted_at IS NULL;
