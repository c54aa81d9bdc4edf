-- An address whose domain is beyond ASCII is keyed by the domain's A-label
-- now (usher.EmailKey), so that a domain's U-label and A-label are one
-- address and two domains IDNA tells apart stay two. The Go step after
-- this file re-keys such addresses as migration 4 did.

-- Mailed codes bound to such an address were bound to its old key and
-- would be refused: they go, and their owners ask for new ones.
DELETE FROM codes WHERE kind IN ('confirm', 'reset', 'reset_ticket') AND used_at IS NULL
    AND octet_length(email_key) <> char_length(email_key);
