package sqldb

import (
	"context"
	"time"

	"usher"
)

// BacklogGet counts the unsent mails and the due reminders: each query
// reads only its partial index's rows, the work waiting.
func (c *conn) BacklogGet(ctx context.Context, now time.Time) (*usher.Backlog, error) {
	b := new(usher.Backlog)
	var oldest *time.Time
	if err := c.queryRow(ctx, "BacklogMail").Scan(&b.MailQueued, nullTime{&oldest}); err != nil {
		return nil, c.fail("BacklogMail", err)
	}
	if oldest != nil {
		b.MailOldest = *oldest
	}
	if err := c.queryRow(ctx, "BacklogReminders", c.d.TimeArg(now)).Scan(&b.RemindersDue); err != nil {
		return nil, c.fail("BacklogReminders", err)
	}
	return b, nil
}
