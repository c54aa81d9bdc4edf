-- One-time codes sent by mail are bound to the address they went to, and a
-- secondary address claims its key only once it is confirmed.

ALTER TABLE codes ADD COLUMN email_key text NOT NULL DEFAULT '';

-- Codes sent before this migration are bound to no address: they would be
-- refused, so they go.
DELETE FROM codes WHERE kind IN ('confirm', 'reset', 'reset_ticket') AND used_at IS NULL;

-- An account holds an address once, confirmed or not.
CREATE UNIQUE INDEX user_emails_user_key ON user_emails (user_id, email_key);
-- Unconfirmed addresses expire: housekeeping finds them by age.
CREATE INDEX user_emails_unconfirmed ON user_emails (created_at) WHERE confirmed_at IS NULL;

-- Unconfirmed secondary addresses free the keys they claimed.
DELETE FROM email_claims c
WHERE EXISTS (SELECT 1 FROM user_emails e
              WHERE e.email_key = c.email_key AND e.user_id = c.user_id AND e.confirmed_at IS NULL)
  AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = c.user_id AND u.email_key = c.email_key)
  AND NOT EXISTS (SELECT 1 FROM user_emails e
                  WHERE e.email_key = c.email_key AND e.user_id = c.user_id AND e.confirmed_at IS NOT NULL);

CREATE OR REPLACE FUNCTION users_claims() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.email_key IS NOT NULL AND NEW.deleted_at IS NULL THEN
            INSERT INTO email_claims (email_key, user_id) VALUES (NEW.email_key, NEW.id);
        END IF;
    ELSIF OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL THEN
        -- A soft-deleted user holds no address.
        DELETE FROM email_claims WHERE user_id = NEW.id;
    ELSIF OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL THEN
        -- An undeleted user claims its primary and confirmed addresses
        -- again; one taken meanwhile fails the undelete.
        IF NEW.email_key IS NOT NULL THEN
            INSERT INTO email_claims (email_key, user_id) VALUES (NEW.email_key, NEW.id);
        END IF;
        INSERT INTO email_claims (email_key, user_id)
            SELECT DISTINCT email_key, NEW.id FROM user_emails
            WHERE user_id = NEW.id AND confirmed_at IS NOT NULL AND email_key IS DISTINCT FROM NEW.email_key;
    ELSIF NEW.deleted_at IS NULL AND OLD.email_key IS DISTINCT FROM NEW.email_key THEN
        -- A new primary address: free the old one unless it is also a
        -- confirmed secondary one of theirs; claim the new one unless they
        -- hold it.
        DELETE FROM email_claims c WHERE c.email_key = OLD.email_key AND c.user_id = OLD.id
            AND NOT EXISTS (SELECT 1 FROM user_emails e WHERE e.user_id = OLD.id AND e.email_key = OLD.email_key
                            AND e.confirmed_at IS NOT NULL);
        IF NEW.email_key IS NOT NULL THEN
            INSERT INTO email_claims (email_key, user_id)
                SELECT NEW.email_key, NEW.id
                WHERE NOT EXISTS (SELECT 1 FROM email_claims c WHERE c.email_key = NEW.email_key AND c.user_id = NEW.id);
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

-- A secondary address claims its key when it is confirmed, at insertion
-- (added confirmed by an administrator) or later; another account's claim
-- fails the statement, so the first to confirm an address wins.
CREATE OR REPLACE FUNCTION user_emails_claims() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR TG_OP = 'UPDATE' THEN
        IF NEW.confirmed_at IS NOT NULL AND (TG_OP = 'INSERT' OR OLD.confirmed_at IS NULL) THEN
            INSERT INTO email_claims (email_key, user_id)
                SELECT NEW.email_key, NEW.user_id FROM users WHERE id = NEW.user_id AND deleted_at IS NULL
                AND NOT EXISTS (SELECT 1 FROM email_claims c WHERE c.email_key = NEW.email_key AND c.user_id = NEW.user_id);
        END IF;
        RETURN NULL;
    END IF;
    IF OLD.confirmed_at IS NOT NULL THEN
        DELETE FROM email_claims c WHERE c.email_key = OLD.email_key AND c.user_id = OLD.user_id
            AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = OLD.user_id AND u.email_key = OLD.email_key);
    END IF;
    RETURN NULL;
END;
$$;

DROP TRIGGER user_emails_claims ON user_emails;
CREATE TRIGGER user_emails_claims AFTER INSERT OR DELETE OR UPDATE OF confirmed_at ON user_emails
FOR EACH ROW EXECUTE FUNCTION user_emails_claims();
