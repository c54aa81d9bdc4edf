-- The language each mail is written in, for its HTML part.
ALTER TABLE outbox ADD COLUMN lang text NOT NULL DEFAULT '';

-- The devices each user has signed in from, so that a sign-in from a new
-- one is mailed to the user. A device is the hash of its browser family
-- and the client's network; last_seen_at is its latest sign-in.
CREATE TABLE known_devices (
    user_id      bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash         text        NOT NULL,
    last_seen_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, hash)
);
