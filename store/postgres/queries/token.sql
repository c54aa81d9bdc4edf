-- name: TokenInsert
INSERT INTO tokens (kind, user_id, name, scopes, hint, hash, expires_at, last_used_at, created_at,
    revoked_at, address, user_agent, impersonator_id, minted_by_admin, minted_by_owner)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
RETURNING id;

-- name: TokenByID
SELECT {{token_columns}} FROM tokens WHERE id = $1;

-- name: TokenByHash
SELECT {{token_columns}} FROM tokens WHERE hash = $1;

-- name: TokenTouch
UPDATE tokens SET last_used_at = $1
WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3);
