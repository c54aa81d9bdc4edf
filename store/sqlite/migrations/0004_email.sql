-- One-time codes sent by mail are bound to the address they went to, and a
-- secondary address claims its key only once it is confirmed.

ALTER TABLE codes ADD COLUMN email_key TEXT NOT NULL DEFAULT '';

-- Codes sent before this migration are bound to no address: they would be
-- refused, so they go.
DELETE FROM codes WHERE kind IN ('confirm', 'reset', 'reset_ticket') AND used_at IS NULL;

-- An account holds an address once, confirmed or not.
CREATE UNIQUE INDEX user_emails_user_key ON user_emails (user_id, email_key);
-- Unconfirmed addresses expire: housekeeping finds them by age.
CREATE INDEX user_emails_unconfirmed ON user_emails (created_at) WHERE confirmed_at IS NULL;

-- Unconfirmed secondary addresses free the keys they claimed.
DELETE FROM email_claims WHERE EXISTS (
    SELECT 1 FROM user_emails e
    WHERE e.email_key = email_claims.email_key AND e.user_id = email_claims.user_id AND e.confirmed_at IS NULL)
  AND NOT EXISTS (
    SELECT 1 FROM users u WHERE u.id = email_claims.user_id AND u.email_key = email_claims.email_key)
  AND NOT EXISTS (
    SELECT 1 FROM user_emails e
    WHERE e.email_key = email_claims.email_key AND e.user_id = email_claims.user_id AND e.confirmed_at IS NOT NULL);

DROP TRIGGER users_claim_change;
DROP TRIGGER users_claim_undelete;
DROP TRIGGER user_emails_claim_insert;
DROP TRIGGER user_emails_claim_delete;

-- A live user's new primary address: free the old one (unless it is also a
-- confirmed secondary address of theirs) and claim the new one (unless they
-- hold it).
CREATE TRIGGER users_claim_change AFTER UPDATE OF email_key ON users
WHEN old.email_key IS NOT new.email_key AND old.deleted_at IS NULL AND new.deleted_at IS NULL BEGIN
    DELETE FROM email_claims WHERE email_key = old.email_key AND user_id = old.id
        AND NOT EXISTS (SELECT 1 FROM user_emails WHERE user_id = old.id AND email_key = old.email_key
                        AND confirmed_at IS NOT NULL);
    INSERT INTO email_claims (email_key, user_id)
        SELECT new.email_key, new.id WHERE new.email_key IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM email_claims WHERE email_key = new.email_key AND user_id = new.id);
END;

-- An undeleted user claims its primary and confirmed addresses again; one
-- taken meanwhile fails the undelete.
CREATE TRIGGER users_claim_undelete AFTER UPDATE OF deleted_at ON users
WHEN old.deleted_at IS NOT NULL AND new.deleted_at IS NULL BEGIN
    INSERT INTO email_claims (email_key, user_id)
        SELECT new.email_key, new.id WHERE new.email_key IS NOT NULL;
    INSERT INTO email_claims (email_key, user_id)
        SELECT DISTINCT email_key, new.id FROM user_emails
        WHERE user_id = new.id AND confirmed_at IS NOT NULL AND email_key IS NOT new.email_key;
END;

-- A secondary address claims its key when it is confirmed, at insertion
-- (added confirmed by an administrator) or later; another account's claim
-- fails the statement, so the first to confirm an address wins.
CREATE TRIGGER user_emails_claim_insert AFTER INSERT ON user_emails
WHEN new.confirmed_at IS NOT NULL BEGIN
    INSERT INTO email_claims (email_key, user_id)
        SELECT new.email_key, new.user_id FROM users WHERE id = new.user_id AND deleted_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM email_claims WHERE email_key = new.email_key AND user_id = new.user_id);
END;

CREATE TRIGGER user_emails_claim_confirm AFTER UPDATE OF confirmed_at ON user_emails
WHEN old.confirmed_at IS NULL AND new.confirmed_at IS NOT NULL BEGIN
    INSERT INTO email_claims (email_key, user_id)
        SELECT new.email_key, new.user_id FROM users WHERE id = new.user_id AND deleted_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM email_claims WHERE email_key = new.email_key AND user_id = new.user_id);
END;

CREATE TRIGGER user_emails_claim_delete AFTER DELETE ON user_emails
WHEN old.confirmed_at IS NOT NULL BEGIN
    DELETE FROM email_claims WHERE email_key = old.email_key AND user_id = old.user_id
        AND NOT EXISTS (SELECT 1 FROM users WHERE id = old.user_id AND email_key = old.email_key);
END;
