-- name: CodeInsert
INSERT INTO codes (kind, hash, user_id, data, email_key, expires_at, used_at, created_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
RETURNING id;

-- name: CodeByHash
SELECT {{code_columns}} FROM codes WHERE kind = ?1 AND hash = ?2;

-- name: CodeUse
UPDATE codes SET used_at = ?1 WHERE id = ?2 AND used_at IS NULL AND expires_at > ?1;

-- name: CodeSetUser
UPDATE codes SET user_id = ?1 WHERE id = ?2 AND used_at IS NULL;

-- name: CodeDeleteUser
DELETE FROM codes WHERE user_id = ?1 AND kind = ?2 AND used_at IS NULL;

-- name: CodeDeleteAddress
DELETE FROM codes WHERE user_id = ?1 AND email_key = ?2 AND kind = ?3 AND used_at IS NULL;

-- name: CodeDeleteExpired
DELETE FROM codes WHERE expires_at < ?1;

-- name: OutboxInsert
INSERT INTO outbox (kind, recipient, subject, body, created_at, attempts, next_attempt_at, lang, user_id, author_id)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
RETURNING id;

-- name: OutboxClaim
-- The single writer makes the claim atomic: no other sender sees these rows
-- as due until the lease ends.
UPDATE outbox SET next_attempt_at = ?2
WHERE id IN (SELECT id FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= ?1
             ORDER BY next_attempt_at, id LIMIT ?3)
RETURNING {{mail_columns}};

-- name: OutboxSent
UPDATE outbox SET sent_at = ?1, body = '', attempts = attempts + 1, last_error = '' WHERE id = ?2;

-- name: OutboxFailed
UPDATE outbox SET attempts = ?1, next_attempt_at = ?2, last_error = ?3 WHERE id = ?4;

-- name: OutboxDrop
DELETE FROM outbox WHERE id = ?1;

-- name: OutboxByID
SELECT {{mail_columns}} FROM outbox WHERE id = ?1;

-- name: KnownDeviceGet
SELECT last_seen_at FROM known_devices WHERE user_id = ?1 AND hash = ?2;

-- name: KnownDeviceCount
SELECT count(*) FROM known_devices WHERE user_id = ?1;

-- name: KnownDevicePut
INSERT INTO known_devices (user_id, hash, last_seen_at) VALUES (?1, ?2, ?3)
ON CONFLICT (user_id, hash) DO UPDATE SET last_seen_at = excluded.last_seen_at;

-- name: KnownDeviceTrim
DELETE FROM known_devices WHERE user_id = ?1 AND (last_seen_at < ?2 OR hash NOT IN (
    SELECT hash FROM known_devices WHERE user_id = ?1 ORDER BY last_seen_at DESC, hash LIMIT ?3));

-- name: ThrottleGet
SELECT key, failures, window_start, locked_until FROM throttles WHERE key = ?1;

-- name: ThrottleFail
-- A failure outside the window starts a new window, unless the key is
-- remembered still (ThrottleLock, or this statement's ?4 for a key that
-- remembers its failures): a guesser who waits out a lock, or a lock and
-- a window, or who stays under the limit each window, goes on counting
-- instead of finding a fresh count. A new window has no lock, ended or
-- not, for an attempt to find ended and take again.
INSERT INTO throttles (key, failures, window_start, remembered_until) VALUES (?1, 1, ?2, ?4)
ON CONFLICT (key) DO UPDATE SET
    failures = CASE WHEN throttles.window_start < ?3 AND (throttles.remembered_until IS NULL OR throttles.remembered_until < ?2)
        THEN 1 ELSE throttles.failures + 1 END,
    window_start = CASE WHEN throttles.window_start < ?3 AND (throttles.remembered_until IS NULL OR throttles.remembered_until < ?2)
        THEN ?2 ELSE throttles.window_start END,
    locked_until = CASE WHEN throttles.window_start < ?3 AND (throttles.remembered_until IS NULL OR throttles.remembered_until < ?2)
        THEN NULL ELSE throttles.locked_until END,
    remembered_until = CASE WHEN throttles.window_start < ?3 AND (throttles.remembered_until IS NULL OR throttles.remembered_until < ?2)
        THEN ?4
        WHEN ?4 IS NULL OR throttles.remembered_until > ?4 THEN throttles.remembered_until
        ELSE ?4 END
RETURNING key, failures, window_start, locked_until;

-- name: ThrottleLock
UPDATE throttles SET locked_until = ?1, remembered_until = ?3 WHERE key = ?2;

-- name: ThrottleRelock
-- Of the attempts that find a key's lock ended, the first locks it again;
-- the others find a lock that has not ended and write nothing.
UPDATE throttles SET locked_until = ?1 WHERE key = ?2 AND (locked_until IS NULL OR locked_until <= ?3);

-- name: ThrottleUnlock
-- The lock an attempt took ends now, unless a failure has locked the key since.
UPDATE throttles SET locked_until = ?3 WHERE key = ?1 AND locked_until = ?2;

-- name: ThrottleClear
DELETE FROM throttles WHERE key = ?1;

-- name: ThrottleForgive
UPDATE throttles SET failures = failures - 1 WHERE key = ?1 AND failures > 0;

-- name: ThrottlePrune
DELETE FROM throttles WHERE window_start < ?1 AND (locked_until IS NULL OR locked_until < ?1)
    AND (remembered_until IS NULL OR remembered_until < ?2);

-- name: JWTEnd
-- An end is kept until the latest expiry recorded for its id.
INSERT INTO ended_jwts (id, expires_at) VALUES (?1, ?2)
ON CONFLICT (id) DO UPDATE SET expires_at = max(ended_jwts.expires_at, excluded.expires_at);

-- name: JWTEnded
SELECT count(*) FROM ended_jwts WHERE id = ?1;

-- name: SigningKeyInsert
INSERT INTO signing_keys (id, algorithm, private_key, public_key, created_at, retired_at, lifetime)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7);

-- name: SigningKeyList
SELECT id, algorithm, private_key, public_key, created_at, retired_at, lifetime, verify_until FROM signing_keys ORDER BY created_at, id;

-- name: SigningKeyRetire
UPDATE signing_keys SET retired_at = ?1, verify_until = ?3 WHERE id = ?2 AND retired_at IS NULL;

-- name: SigningKeyLifetime
UPDATE signing_keys SET lifetime = ?2 WHERE id = ?1 AND lifetime < ?2;

-- name: SigningKeyDelete
DELETE FROM signing_keys WHERE id = ?1;
