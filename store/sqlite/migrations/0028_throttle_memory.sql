-- A key locked by failures is remembered after its lock until this time
-- (core: a login's, for as long as its guesses and its doubling locks
-- would take at --login-lock-max; a rate's, a window): before, a window
-- after the lock's end, so that a guesser who waited out the first lock
-- and a window found a fresh count.
-- Keys locked before keep the old rule: a window (15 minutes, the
-- default) after the lock's end.
ALTER TABLE throttles ADD COLUMN remembered_until INTEGER;
UPDATE throttles SET remembered_until = locked_until + 900000000 WHERE locked_until IS NOT NULL;
