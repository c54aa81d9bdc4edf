-- The account a mail is about, when it is about one: the outbox sends it
-- only while its address is still one of that account's (core's
-- DeliverDue), and a mail given up takes that account's codes at the
-- address with it and is recorded against it. NULL for a mail about no
-- account (a server script's) and for those queued before this column,
-- which are sent as before. No foreign key: a purge deletes the account's
-- mails itself, and a mail is no more than its recipient.
ALTER TABLE outbox ADD COLUMN user_id BIGINT;
