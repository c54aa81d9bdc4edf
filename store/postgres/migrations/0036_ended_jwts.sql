-- The JWTs ended before their expiry: an impersonation an administrator
-- ended in the console. A JWT is signed, not stored, so its end is the
-- one thing kept of it: its id (jti) and its expiry, after which the JWT
-- is refused by itself and the row is pruned. Before, ending an
-- impersonation only cleared the browser's cookie, and whoever had copied
-- the JWT acted as the user until its expiry.
CREATE TABLE ended_jwts (
    id         text        PRIMARY KEY,
    expires_at timestamptz NOT NULL
);

CREATE INDEX ended_jwts_expires_at ON ended_jwts (expires_at);
