-- How many users there are of each kind and state, deleted or not, kept by
-- triggers in the transaction of every write to users: a list's total
-- that filters on nothing else is a sum of a few of these rows, exact,
-- instead of a count of every user. A row is locked by the transaction
-- that changes it until it commits, so writers that add or remove users of
-- the same kind and state take turns at that moment; each locks the rows in
-- one order, so two of them never wait for each other.
CREATE TABLE user_counts (
    kind    text    NOT NULL,
    state   text    NOT NULL,
    deleted boolean NOT NULL,
    n       bigint  NOT NULL,
    PRIMARY KEY (kind, state, deleted)
);

INSERT INTO user_counts (kind, state, deleted, n)
SELECT kind, state, deleted_at IS NOT NULL, count(*) FROM users GROUP BY 1, 2, 3;

-- Inserts and deletes are counted once a statement, from its rows: a
-- multi-row insert of an import changes each row once, not once a user.
CREATE FUNCTION user_counts_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_counts AS c (kind, state, deleted, n)
    SELECT kind, state, deleted_at IS NOT NULL, count(*) FROM new_users GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (kind, state, deleted) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END;
$$;

CREATE TRIGGER user_counts_insert AFTER INSERT ON users
REFERENCING NEW TABLE AS new_users FOR EACH STATEMENT EXECUTE FUNCTION user_counts_insert();

CREATE FUNCTION user_counts_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE user_counts c SET n = c.n - d.n
    FROM (SELECT kind, state, deleted_at IS NOT NULL AS deleted, count(*) AS n FROM old_users GROUP BY 1, 2, 3) d
    WHERE c.kind = d.kind AND c.state = d.state AND c.deleted = d.deleted;
    RETURN NULL;
END;
$$;

CREATE TRIGGER user_counts_delete AFTER DELETE ON users
REFERENCING OLD TABLE AS old_users FOR EACH STATEMENT EXECUTE FUNCTION user_counts_delete();

-- Only a change of kind, state or deletion moves a user to another row:
-- the other writes (a sign-in's time, a profile) do not call the
-- function. Both rows change in one statement.
CREATE FUNCTION user_counts_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_counts (kind, state, deleted, n) VALUES (NEW.kind, NEW.state, NEW.deleted_at IS NOT NULL, 0)
    ON CONFLICT (kind, state, deleted) DO NOTHING;
    UPDATE user_counts
    SET n = n + CASE WHEN (kind, state, deleted) = (NEW.kind, NEW.state, NEW.deleted_at IS NOT NULL) THEN 1 ELSE -1 END
    WHERE (kind, state, deleted) IN ((OLD.kind, OLD.state, OLD.deleted_at IS NOT NULL),
                                     (NEW.kind, NEW.state, NEW.deleted_at IS NOT NULL));
    RETURN NULL;
END;
$$;

CREATE TRIGGER user_counts_update AFTER UPDATE OF kind, state, deleted_at ON users
FOR EACH ROW
WHEN (OLD.kind IS DISTINCT FROM NEW.kind OR OLD.state IS DISTINCT FROM NEW.state
      OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL))
EXECUTE FUNCTION user_counts_update();
