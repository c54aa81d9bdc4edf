-- How long each signing key must verify, whichever process retires or
-- prunes it: lifetime is the longest JWT lifetime (in seconds) of the
-- processes that sign or may sign with the key, raised by usher serve at
-- start; verify_until, set when the key is retired, is the time until which
-- its JWTs may live.
ALTER TABLE signing_keys ADD COLUMN lifetime bigint NOT NULL DEFAULT 0;
ALTER TABLE signing_keys ADD COLUMN verify_until timestamptz;
