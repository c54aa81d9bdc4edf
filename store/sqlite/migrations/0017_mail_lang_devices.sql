-- The language each mail is written in, for its HTML part.
ALTER TABLE outbox ADD COLUMN lang TEXT NOT NULL DEFAULT '';

-- The devices each user has signed in from, so that a sign-in from a new
-- one is mailed to the user. A device is the hash of its browser family
-- and the client's network; last_seen_at is its latest sign-in.
CREATE TABLE known_devices (
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash         TEXT    NOT NULL,
    last_seen_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, hash)
);
