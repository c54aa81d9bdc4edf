-- Substring search through one trigram index instead of three. search_text
-- is the lower-cased username, name and e-mail address, each apart from
-- the next by chr(1), which no trigram spans. A search reads one bitmap
-- from its index and rechecks it with LIKE, which compares bytes, where
-- the three indexes made a BitmapOr of three bitmaps, each rechecked with
-- ILIKE on every column: for a string of common trigrams that was tens of
-- thousands of rows at a few tens of microseconds each (issue 19).
ALTER TABLE users ADD COLUMN search_text text
    GENERATED ALWAYS AS (lower(username || chr(1) || name || chr(1) || email)) STORED;
DROP INDEX IF EXISTS users_username_trgm, users_name_trgm, users_email_trgm;
CREATE INDEX users_search_trgm ON users USING gin (search_text gin_trgm_ops);
