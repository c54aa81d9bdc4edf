-- How many users there are of each kind and state, deleted or not, kept by
-- triggers in the transaction of every write to users: a list's total
-- that filters on nothing else is a sum of a few of these rows, exact,
-- instead of a count of every user.
CREATE TABLE user_counts (
    kind    TEXT    NOT NULL,
    state   TEXT    NOT NULL,
    deleted INTEGER NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (kind, state, deleted)
) WITHOUT ROWID;

INSERT INTO user_counts (kind, state, deleted, n)
SELECT kind, state, deleted_at IS NOT NULL, count(*) FROM users GROUP BY 1, 2, 3;

CREATE TRIGGER user_counts_insert AFTER INSERT ON users BEGIN
    INSERT INTO user_counts (kind, state, deleted, n) VALUES (new.kind, new.state, new.deleted_at IS NOT NULL, 1)
    ON CONFLICT (kind, state, deleted) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER user_counts_delete AFTER DELETE ON users BEGIN
    UPDATE user_counts SET n = n - 1
    WHERE kind = old.kind AND state = old.state AND deleted = (old.deleted_at IS NOT NULL);
END;

-- Only a change of kind, state or deletion moves a user to another row:
-- the other writes (a sign-in's time, a profile) leave the counts alone.
CREATE TRIGGER user_counts_update AFTER UPDATE OF kind, state, deleted_at ON users
WHEN old.kind IS NOT new.kind OR old.state IS NOT new.state
    OR (old.deleted_at IS NULL) <> (new.deleted_at IS NULL)
BEGIN
    UPDATE user_counts SET n = n - 1
    WHERE kind = old.kind AND state = old.state AND deleted = (old.deleted_at IS NOT NULL);
    INSERT INTO user_counts (kind, state, deleted, n) VALUES (new.kind, new.state, new.deleted_at IS NOT NULL, 1)
    ON CONFLICT (kind, state, deleted) DO UPDATE SET n = n + 1;
END;
