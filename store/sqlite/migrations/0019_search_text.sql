-- PostgreSQL's substring search moves to one lower-cased column with one
-- trigram index (issue 19). SQLite's full-text index already covers the
-- three columns at once: nothing changes here.
SELECT 1;
