package sqldb

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"usher"
)

// scanReminder reads the columns of {{reminder_columns}}.
func scanReminder(s scanner) (*usher.Reminder, error) {
	r := new(usher.Reminder)
	var payload []byte
	err := s.Scan(&r.ID, &r.Resource, &payload, &r.AssignedTo, nullInt{&r.CreatedBy}, nullTime{&r.RemindAt},
		&r.SnoozeCount, nullTime{&r.DismissedAt}, nullTime{&r.DeliveredAt}, timeCol{&r.CreatedAt},
		timeCol{&r.UpdatedAt}, nullTime{&r.DeletedAt}, nullInt{&r.WrittenBy})
	r.Payload = payload
	return r, err
}

// payloadArg passes a payload as JSON text; an empty one is null.
func payloadArg(p []byte) string {
	if len(p) == 0 {
		return "null"
	}
	return string(p)
}

// ReminderAdd inserts a reminder.
func (c *conn) ReminderAdd(ctx context.Context, r *usher.Reminder) error {
	err := c.writeRow(ctx, "ReminderInsert", r.Resource, payloadArg(r.Payload), r.AssignedTo, intOrNull(r.CreatedBy),
		c.timeArg(r.RemindAt), r.SnoozeCount, c.timeArg(r.DismissedAt), c.timeArg(r.DeliveredAt),
		c.d.TimeArg(r.CreatedAt), c.d.TimeArg(r.UpdatedAt), c.timeArg(r.DeletedAt), intOrNull(r.WrittenBy)).Scan(&r.ID)
	if err != nil {
		return c.fail("ReminderInsert", err)
	}
	return nil
}

// ReminderGet returns a reminder, deleted or not.
func (c *conn) ReminderGet(ctx context.Context, id int64) (*usher.Reminder, error) {
	r, err := scanReminder(c.queryRow(ctx, "ReminderByID", id))
	if err != nil {
		return nil, c.notFound("ReminderByID", err)
	}
	return r, nil
}

// ReminderUpdate reads a reminder, locking it, lets fn change it and
// writes it back.
func (c *conn) ReminderUpdate(ctx context.Context, id int64, fn func(r *usher.Reminder) error) (*usher.Reminder, error) {
	var out *usher.Reminder
	err := c.atomic(ctx, func(c *conn) error {
		r, err := scanReminder(c.queryRow(ctx, "ReminderByIDForUpdate", id))
		if err != nil {
			return c.notFound("ReminderByIDForUpdate", err)
		}
		if err := fn(r); err != nil {
			return err
		}
		r.ID = id
		if _, err := c.exec(ctx, "ReminderWrite", r.Resource, payloadArg(r.Payload), r.AssignedTo,
			c.timeArg(r.RemindAt), r.SnoozeCount, c.timeArg(r.DismissedAt), c.timeArg(r.DeliveredAt),
			c.d.TimeArg(r.UpdatedAt), c.timeArg(r.DeletedAt), id, intOrNull(r.WrittenBy)); err != nil {
			return err
		}
		out = r
		return nil
	})
	return out, err
}

// ReminderList returns a page of the matching reminders by id.
func (c *conn) ReminderList(ctx context.Context, f usher.ReminderFilter) (*usher.Page[*usher.Reminder], error) {
	total, estimated, err := c.total(ctx, "ReminderList", f.Page, func(b *Builder, cols string) {
		reminderWhere(b, f)
		b.Write("SELECT " + cols + " FROM reminders")
		b.WriteWhere()
	})
	if err != nil {
		return nil, err
	}
	b := &Builder{d: c.d}
	reminderWhere(b, f)
	if f.Page.After != nil {
		b.Where("id > " + b.Arg(f.Page.After.ID))
	}
	b.Write("SELECT " + macros["{{reminder_columns}}"] + " FROM reminders")
	b.WriteWhere()
	b.Write(" ORDER BY id")
	writePage(b, f.Page)
	rows, err := collect(ctx, c, "ReminderList", b, scanReminder)
	if err != nil {
		return nil, err
	}
	page := pageOf(rows, f.Page, idKey(func(r *usher.Reminder) int64 { return r.ID }))
	page.Total, page.TotalEstimated = total, estimated
	return page, nil
}

// reminderWhere adds to b the conditions of f but its cursor: the live
// reminders of the list.
func reminderWhere(b *Builder, f usher.ReminderFilter) {
	b.Where("deleted_at IS NULL")
	switch {
	case f.Resource != "" && f.ResourcePrefix:
		// A prefix as text, not LIKE's pattern: SQLite's LIKE folds case,
		// and % and _ would be wildcards.
		b.Where("substr(resource, 1, " + b.Arg(utf8.RuneCountInString(f.Resource)) + ") = " + b.Arg(f.Resource))
	case f.Resource != "":
		b.Where("resource = " + b.Arg(f.Resource))
	}
	if f.AssignedTo != 0 {
		b.Where("assigned_to = " + b.Arg(f.AssignedTo))
	}
	if f.CreatedBy != 0 {
		b.Where("created_by = " + b.Arg(f.CreatedBy))
	}
	if f.Involving != 0 {
		who := b.Arg(f.Involving)
		b.Where("(assigned_to = " + who + " OR created_by = " + who + ")")
	}
	if f.ScheduledFrom != nil {
		b.Where("remind_at >= " + b.Time(*f.ScheduledFrom))
	}
	if f.ScheduledUntil != nil {
		b.Where("remind_at < " + b.Time(*f.ScheduledUntil))
	}
	if f.ExcludeDismissed {
		b.Where("dismissed_at IS NULL")
	}
	if f.ScheduledOnly {
		b.Where("remind_at IS NOT NULL")
	}
}

// ReminderClaim claims due reminders under the claim until leaseUntil.
func (c *conn) ReminderClaim(ctx context.Context, now, leaseUntil time.Time, claim string, limit int) ([]*usher.Reminder, error) {
	if claim == "" {
		return nil, errors.New("ReminderClaim: an empty claim")
	}
	// Uncounted: a reminder's lease is no row a cache holds, and every
	// replica claims every few seconds.
	rows, err := c.quiet.QueryContext(ctx, c.queries["ReminderClaim"], c.d.TimeArg(now), c.d.TimeArg(leaseUntil), claim, limit)
	if err != nil {
		return nil, c.fail("ReminderClaim", err)
	}
	defer rows.Close()
	var out []*usher.Reminder
	for rows.Next() {
		r, err := scanReminder(rows)
		if err != nil {
			return nil, fmt.Errorf("ReminderClaim: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ReminderDeliver marks a claimed reminder delivered.
func (c *conn) ReminderDeliver(ctx context.Context, id int64, claim string, at time.Time) error {
	res, err := c.exec(ctx, "ReminderDeliver", c.d.TimeArg(at), id, claim)
	if err != nil {
		return err
	}
	return affected(res)
}
