-- The account whose text a mail carries, when that is neither its
-- recipient's nor usher's: a reminder's creator, for a reminder assigned
-- to another. The outbox gives such a mail up unsent once its author is
-- deleted or may not sign in (core's Outbox.fate), as the reminder is not
-- mailed once due: before, a mail queued and put off by the recipient's
-- server ("try later") was still sent on a retry after an administrator
-- blocked or deleted its author. NULL for every other mail, and for those
-- queued before this column. No foreign key, as user_id.
ALTER TABLE outbox ADD COLUMN author_id INTEGER;

-- The account that last wrote a reminder's text, its resource or its
-- assignee: its creator, or a planner with reminder.write who changed it
-- since. A reminder for another is mailed, and its mail sent, only while
-- that account may sign in, and the mail names it as its author: before,
-- only the creator was asked, so a planner blocked after rewriting
-- another's reminder still had its text mailed. NULL for reminders
-- written before this column, which their creator wrote. No foreign key:
-- a purged writer's id stays and reads as gone.
ALTER TABLE reminders ADD COLUMN written_by INTEGER;
