-- A trigram index of usernames and names alone, spelled as search_key is
-- (usher_search_key, migration 0020), for the searches that do not look at
-- addresses: a user who is no administrator searches names only (and
-- Pterodactyl's filter[username]). The index on search_key holds the
-- addresses' trigrams too, so such a search had every address holding its
-- string read and rechecked — q=example answered no one in 720 ms at a
-- million users, for any signed-in caller. The load sets it aside with
-- users_search_trgm and builds it again at its end (queries/load.sql).
CREATE INDEX users_names_trgm ON users USING gin (usher_search_key(lower(username || chr(1) || name)) gin_trgm_ops);
