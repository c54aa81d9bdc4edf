-- A user's change of their own address waits here until the new address
-- is confirmed with the code mailed to it; only then does it become the
-- account's address. A pending address claims nothing.
ALTER TABLE users ADD COLUMN unconfirmed_email text NOT NULL DEFAULT '';
