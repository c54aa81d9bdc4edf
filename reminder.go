package usher

import "time"

// Reminder asks that a user be reminded of a resource at a time. Its
// resource is a reference ("user:42", "application:7") that usher does not
// resolve; its payload is JSON the client keeps with it.
type Reminder struct {
	ID int64
	// Resource is what the reminder is about: "type:id".
	Resource string
	// Payload is a JSON value, bounded by the core.
	Payload []byte
	// AssignedTo is the user reminded; CreatedBy the user who made the
	// reminder, 0 when the system did or the user is gone.
	AssignedTo int64
	CreatedBy  int64
	// WrittenBy is the user who last set its resource, payload or
	// assignee: its creator, or another since; 0 when the system did, or
	// for a reminder written before it was kept (its creator's).
	WrittenBy int64
	// RemindAt is when the reminder comes due; nil for none (it is then
	// never delivered).
	RemindAt *time.Time
	// SnoozeCount counts the snoozes.
	SnoozeCount int
	// DismissedAt is set once the assignee dismissed the reminder;
	// DeliveredAt once it was mailed for its current RemindAt.
	DismissedAt *time.Time
	DeliveredAt *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// DeletedAt is set when the reminder is deleted; deleted reminders are
	// kept but neither listed nor delivered.
	DeletedAt *time.Time
}

// ReminderCreate is what a new reminder is made of.
type ReminderCreate struct {
	Resource string
	Payload  []byte // JSON; empty for null
	// AssignedTo is the user to remind; 0 for the caller.
	AssignedTo int64
	RemindAt   *time.Time
}

// ReminderUpdate changes a reminder; nil fields are left as they are.
type ReminderUpdate struct {
	Resource   *string
	Payload    []byte // JSON; nil leaves the payload
	AssignedTo *int64
	RemindAt   *time.Time
}

// ReminderFilter selects reminders; zero fields do not filter. Deleted
// reminders are never listed.
type ReminderFilter struct {
	// Resource keeps the reminders about it; with ResourcePrefix, those
	// whose resource starts with it (Corteza's filter: "system:user" keeps
	// "system:user:2").
	Resource       string
	ResourcePrefix bool
	AssignedTo     int64
	// Involving keeps the reminders assigned to or created by the user:
	// the core sets it for callers who may not see every reminder.
	Involving int64
	// CreatedBy keeps the reminders the user created.
	CreatedBy int64
	// ScheduledFrom and ScheduledUntil bound RemindAt: from inclusive,
	// until exclusive.
	ScheduledFrom, ScheduledUntil *time.Time
	// ExcludeDismissed leaves dismissed reminders out; ScheduledOnly keeps
	// only reminders with a time.
	ExcludeDismissed bool
	ScheduledOnly    bool
	// Page is ordered by id.
	Page PageRequest
}
