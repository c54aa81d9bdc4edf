-- Substring search with a space or punctuation inside, through the index.
-- pg_trgm splits text into words at every character that is not a letter
-- or a digit and keeps no trigram across one, so for "l t" or "a_n" its
-- index answered every user with a word ending in "l" and one starting
-- with "t" (about 100,000 at a million users), each read and rechecked:
-- seconds. search_key spells search_text so that the common separators
-- are letters and digits: first q becomes qq, then each separator q and a
-- digit — space q1, "." q2, "@" q3, "_" q4, "-" q5, "+" q6, "'" q7 — and the
-- trigram index is on it. A search looks for the same spelling of its
-- string in search_key (the index) and for the string itself in
-- search_text (exact): a substring's spelling is a substring of the text's
-- spelling, so the index misses no match, but the spelling can match
-- across a code (" ", spelled "q1", is in "qqq1", the spelling of "q1"),
-- so it may give a candidate that search_text then refuses. LIKE's escapes survive it: the
-- store escapes "_" as "\_", spelled "\q4", which LIKE reads as a literal q
-- and a 4; "\%" and "\\" hold nothing the spelling changes.
--
-- chr(1), which parts the columns, stays as it is: pg_trgm still splits
-- there, so no trigram spans two columns (a row gains none for its column
-- edges, and a string across two columns, which matches nothing, has no
-- candidates from them). Other characters (",", "/", "#", …) stay weak, as
-- before, and search widens its window in id order for them.
--
-- search_key repeats search_text's expression: a generated column cannot
-- read another. The index keeps its name: the load (queries/load.sql)
-- sets it aside and builds it again under it.
CREATE FUNCTION usher_search_key(t text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
RETURN replace(replace(replace(replace(replace(replace(replace(replace(t,
    'q', 'qq'), ' ', 'q1'), '.', 'q2'), '@', 'q3'), '_', 'q4'), '-', 'q5'), '+', 'q6'), '''', 'q7');
DROP INDEX IF EXISTS users_search_trgm;
ALTER TABLE users ADD COLUMN search_key text GENERATED ALWAYS AS (
    usher_search_key(lower(username || chr(1) || name || chr(1) || email))) STORED;
CREATE INDEX users_search_trgm ON users USING gin (search_key gin_trgm_ops);
