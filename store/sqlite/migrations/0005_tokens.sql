-- credentials_since is when every credential of the account last ended
-- together (its deletion): JWTs issued before it are refused, even once
-- the account is restored.
ALTER TABLE users ADD COLUMN credentials_since INTEGER;
