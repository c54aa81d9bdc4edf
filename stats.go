package usher

import "time"

// Stats counts what the service holds, for an administrator's dashboard.
// Each count is exact unless its Estimated field says otherwise.
type Stats struct {
	Users        UserStats
	Groups       GroupStats // every group, whatever its kind
	Roles        GroupStats // the groups of kind role
	Applications ApplicationStats
}

// UserStats counts users. Valid users are neither deleted nor suspended;
// a deleted user counts as deleted whether or not it was suspended.
type UserStats struct {
	Total     int
	Valid     int
	Suspended int // suspended and not deleted
	Deleted   int
}

// GroupStats counts groups. Valid groups are neither deleted nor archived;
// a deleted group counts as deleted whether or not it was archived.
type GroupStats struct {
	Total    int
	Valid    int
	Archived int // archived and not deleted
	Deleted  int
}

// ApplicationStats counts applications. Valid applications are not deleted.
type ApplicationStats struct {
	Total   int
	Valid   int
	Deleted int
}

// Subscription is a paid subscription to the service. usher sells none:
// the core answers that no subscription is configured.
type Subscription struct {
	// Configured is false when the instance has no subscription.
	Configured bool
}

// Backlog is the work waiting for usher's background senders, for an
// operator's metrics.
type Backlog struct {
	// MailQueued counts the mails not sent yet, due or waiting for a
	// retry; MailOldest is when the oldest of them was queued, or zero.
	MailQueued int
	MailOldest time.Time
	// RemindersDue counts the reminders whose time has come and whose mail
	// is not queued yet.
	RemindersDue int
}
