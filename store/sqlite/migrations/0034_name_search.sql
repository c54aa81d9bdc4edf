-- A trigram index of usernames and names alone, for the searches that do
-- not look at addresses: a user who is no administrator searches names
-- only (and Pterodactyl's filter[username]). users_fts holds the
-- addresses' trigrams too, and a column filter applies after each
-- trigram's list is read, so such a search read the lists of every
-- address that holds its string — q=example answered no one in 573 ms at
-- a million users, every address holding it, for any signed-in caller.
-- The load sets its insert trigger aside with users_fts's and rebuilds it
-- at its end (queries/load.sql).
CREATE VIRTUAL TABLE users_names_fts USING fts5 (
    username, name,
    content = 'users', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO users_names_fts (users_names_fts) VALUES ('rebuild');
INSERT INTO users_names_fts (users_names_fts) VALUES ('optimize');

CREATE TRIGGER users_names_fts_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_names_fts (rowid, username, name) VALUES (new.id, new.username, new.name);
END;

CREATE TRIGGER users_names_fts_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_names_fts (users_names_fts, rowid, username, name) VALUES ('delete', old.id, old.username, old.name);
END;

CREATE TRIGGER users_names_fts_update AFTER UPDATE ON users
WHEN old.username IS NOT new.username OR old.name IS NOT new.name BEGIN
    INSERT INTO users_names_fts (users_names_fts, rowid, username, name) VALUES ('delete', old.id, old.username, old.name);
    INSERT INTO users_names_fts (rowid, username, name) VALUES (new.id, new.username, new.name);
END;
